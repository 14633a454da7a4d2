"""Placeholder router, filled in by the web/chat work."""

from fastapi import APIRouter

router = APIRouter()

// guideline-qa web page: asks /v1/ask, renders the cited answer or the abstention.
// Plain JS, no framework. Every string from the server goes in as text (textContent), never parsed as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("ask-form");
  const question = $("question");
  const askButton = $("ask");
  const status = $("status");
  const result = $("result");
  const bodySelect = $("filter-body");
  const topicSelect = $("filter-topic");
  const longBox = $("long");
  const keyRow = $("key-row");
  const keyInput = $("api-key");
  const KEY_STORE = "guideline-qa-api-key"; // sessionStorage: this tab only, gone when it closes
  let latest = 0;

  function apiKey() {
    try { return window.sessionStorage.getItem(KEY_STORE) || ""; } catch { return ""; }
  }
  function authHeaders() {
    const key = apiKey();
    return key ? { authorization: "Bearer " + key } : {};
  }
  // The service answered 401: show the key field (once a key was refused, say so).
  function askForKey() {
    const hadKey = Boolean(apiKey());
    keyRow.hidden = false;
    $("key-hint").textContent = hadKey
      ? "The service refused this API key. Check it and ask again."
      : "This service asks for an API key. It is kept in this browser tab only.";
    keyInput.focus();
  }

  // Build an element; children are nodes or strings (strings become text nodes).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "status" + (kind ? " " + kind : "");
  }

  async function api(path, body) {
    const init = body === undefined ? { headers: authHeaders() } : {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeaders() },
      body: JSON.stringify(body),
    };
    const response = await fetch(path, init);
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    if (response.status === 401) askForKey();
    if (!response.ok) {
      const message = (data && data.error && data.error.message) || `the service answered ${response.status}`;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // Only http(s) links are followed; anything else (javascript:, data:) is shown as text only.
  // "p. 13" or "pp. 13-14": the page numbers printed on the document's pages.
  const pagesText = (label) => (label.includes("-") ? "pp. " : "p. ") + label;
  const alsoOn = (item) => (item.also_on || []).map((ref) => pagesText(ref.page_label || String(ref.page)));
  // "p. x (also p. 18)": the passage, and the other pages holding it again (an executive summary's copy).
  function pageOf(item) {
    if (!item.page_label) return "";
    const also = alsoOn(item);
    return pagesText(item.page_label) + (also.length ? ` (also ${also.join(", ")})` : "");
  }

  function safeUrl(url) {
    if (!url) return null;
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch { return null; }
  }

  const guidelineOf = (item) => item.guideline || [item.issuing_body, item.year].filter(Boolean).join(" ");
  const humanise = (slug) => {
    if (/^[a-z]{2,4}$/.test(slug)) return slug.toUpperCase(); // mscc, onj: acronyms
    const words = slug.replace(/[-_]+/g, " ").trim();
    return words.charAt(0).toUpperCase() + words.slice(1);
  };
  // The section path without the document title it often starts with (the title is shown already).
  const sectionOf = (item) => {
    const section = item.section || "";
    const prefix = (item.title || "") + " > ";
    return item.title && section.startsWith(prefix) ? section.slice(prefix.length) : section;
  };

  // ---- filters ----------------------------------------------------------------------------------

  async function loadFilters(attempt) {
    const note = $("filters-status");
    let docs;
    try {
      docs = (await api("/v1/documents")).documents || [];
    } catch (error) {
      if (error.status === 503 && attempt < 40) {
        note.textContent = "The index is still loading; filters will appear shortly.";
        window.setTimeout(() => loadFilters(attempt + 1), 3000);
      } else {
        note.textContent = "Filters are unavailable: " + error.message;
      }
      return;
    }
    note.textContent = "";
    const bodies = new Set();
    const topics = new Map(); // prefix -> set of full topics
    for (const doc of docs) {
      for (const body of String(doc.issuing_body || "").split(/[;/]/)) {
        if (body.trim()) bodies.add(body.trim());
      }
      if (doc.topic) {
        const prefix = doc.topic.split("/")[0];
        if (!topics.has(prefix)) topics.set(prefix, new Set());
        topics.get(prefix).add(doc.topic);
      }
    }
    const byName = (a, b) => a.localeCompare(b, undefined, { sensitivity: "base" });
    for (const body of [...bodies].sort(byName)) bodySelect.append(el("option", { value: body, text: body }));
    for (const prefix of [...topics.keys()].sort(byName)) {
      const group = el("optgroup", { label: humanise(prefix) });
      group.append(el("option", { value: prefix, text: "All " + humanise(prefix).toLowerCase() }));
      for (const topic of [...topics.get(prefix)].sort(byName)) {
        if (topic === prefix) continue;
        group.append(el("option", { value: topic, text: humanise(topic.slice(prefix.length + 1)) }));
      }
      topicSelect.append(group);
    }
  }

  function currentFilters() {
    const filters = {};
    if (bodySelect.value) filters.issuing_body = [bodySelect.value];
    if (topicSelect.value) filters.topic = [topicSelect.value];
    return filters;
  }

  function showFilterCount() {
    const count = Object.keys(currentFilters()).length;
    $("filter-count").textContent = count ? `(${count} on)` : "";
  }

  // ---- rendering --------------------------------------------------------------------------------

  // One source or passage: a <details> whose summary names it and whose body quotes it.
  function sourceItem(item, { id, marker, text }) {
    const link = safeUrl(item.url);
    const facts = el("dl", { className: "facts" },
      el("dt", { text: "Guideline" }), el("dd", { text: guidelineOf(item) || "not stated" }),
      el("dt", { text: "Year" }), el("dd", { text: item.year ? String(item.year) : "not stated" }),
      el("dt", { text: "Section" }), el("dd", { text: sectionOf(item) }),
    );
    if (item.rec_id) facts.append(el("dt", { text: "Recommendation" }), el("dd", { text: item.rec_id }));
    if (item.strength) facts.append(el("dt", { text: "Strength" }), el("dd", { text: item.strength }));
    const page = pageOf(item);
    if (page) facts.append(el("dt", { text: "Page" }), el("dd", { text: page }));
    const summary = el("summary", {},
      marker ? el("span", { className: "marker", text: marker }) : null,
      el("span", { className: "source-title", text: item.title || item.doc_id || "Untitled" }),
      el("span", { className: "source-guideline", text: [guidelineOf(item), page].filter(Boolean).join(", ") }),
      el("span", { className: "source-section", text: sectionOf(item) }),
      // Another drug's dose or another population than the question's: said before the quote is read as the answer.
      item.note ? el("span", { className: "source-note", text: "Note: " + item.note }) : null,
    );
    // The ingested file itself, opened at the passage's page: what a clinician checks the answer against.
    const sourceAt = (n) => `/v1/documents/${item.doc_id.split("/").map(encodeURIComponent).join("/")}/source#page=${n}`;
    const sourceHref = item.page ? sourceAt(item.page) : null;
    const details = el("details", {},
      summary,
      el("blockquote", { className: "quote", text }),
      facts,
      sourceHref
        ? el("p", {}, el("a", {
          href: sourceHref, target: "_blank", rel: "noopener noreferrer", className: "page-link",
          text: `Open the document at ${pagesText(item.page_label || String(item.page))}`,
        }), ...(item.also_on || []).map((ref, i) => [
          document.createTextNode(" or "),
          el("a", {
            href: sourceAt(ref.page), target: "_blank", rel: "noopener noreferrer", className: "page-link",
            text: alsoOn(item)[i],
          }),
        ]).flat())
        : null,
      link
        ? el("p", {}, el("a", { href: link, target: "_blank", rel: "noopener noreferrer", text: "Open the guideline" }))
        : el("p", { className: "hint", text: item.url ? "Link: " + item.url : "No link for this guideline." }),
    );
    return el("li", { id }, details);
  }

  function openSource(n) {
    const item = $("source-" + n);
    if (!item) return;
    const details = item.querySelector("details");
    details.open = true;
    item.classList.remove("flash");
    void item.offsetWidth; // restart the highlight animation
    item.classList.add("flash");
    item.scrollIntoView({ block: "nearest" });
    details.querySelector("summary").focus({ preventScroll: true });
  }

  // The answer text with each [n] (or [1, 2]) marker turned into a button that opens source n.
  function renderAnswerText(container, answer, byId) {
    for (const paragraph of String(answer).split(/\n{2,}/)) {
      const p = el("p");
      const pattern = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
      let last = 0;
      let match;
      while ((match = pattern.exec(paragraph)) !== null) {
        const ids = match[1].split(",").map((s) => s.trim());
        if (!ids.every((n) => byId.has(n))) continue;
        p.append(paragraph.slice(last, match.index));
        for (const n of ids) {
          const citation = byId.get(n);
          const button = el("button", {
            type: "button",
            className: "cite",
            "aria-controls": "source-" + n,
            "aria-label": `Source ${n}: ${guidelineOf(citation)}, ${citation.title}`,
            "data-cite": n,
            text: `[${n}]`,
          });
          button.addEventListener("click", () => openSource(n));
          p.append(button);
        }
        last = match.index + match[0].length;
      }
      p.append(paragraph.slice(last));
      container.append(p);
    }
  }

  function render(data) {
    const answer = $("answer");
    const sources = $("sources");
    const closest = $("closest");
    answer.replaceChildren();
    sources.replaceChildren();
    closest.replaceChildren();
    result.classList.toggle("abstained", Boolean(data.abstained));
    $("result-heading").textContent = data.abstained ? "Not answered" : "Answer";

    const note = $("abstention-note");
    note.hidden = !(data.abstained || data.caution);
    note.textContent = data.abstained
      ? "The guidelines here do not support an answer to this question."
      : data.caution
        ? "Partial evidence: the cited passages may answer only part of this question, or a neighbouring one. Check them before acting."
        : "";
    const reason = $("abstention-reason");
    const why = (data.abstained || data.caution) && data.reason;
    reason.hidden = !why;
    reason.textContent = why ? "Why: " + data.reason : "";

    const citations = data.citations || [];
    const byId = new Map(citations.map((c) => [String(c.id), c]));
    renderAnswerText(answer, data.answer || "", byId);
    for (const c of citations) {
      sources.append(sourceItem(c, { id: "source-" + c.id, marker: `[${c.id}]`, text: c.quote }));
    }
    $("sources-block").hidden = citations.length === 0;

    const passages = data.abstained ? (data.passages || []).slice(0, 5) : [];
    passages.forEach((p, i) => closest.append(sourceItem(p, { id: "closest-" + (i + 1), marker: null, text: p.text })));
    $("closest-block").hidden = passages.length === 0;

    const meta = [`evidence ${Number(data.evidence_score || 0).toFixed(2)}`];
    if (data.composer) meta.push(`${data.composer} answer`);
    if (data.timings_ms && data.timings_ms.total) meta.push(`${Math.round(data.timings_ms.total)} ms`);
    $("answer-meta").textContent = meta.join(" · ");
    if (data.disclaimer) $("disclaimer-text").textContent = data.disclaimer;
    result.hidden = false;
  }

  // ---- asking -----------------------------------------------------------------------------------

  async function ask(event) {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) {
      setStatus("Type a question first.", "error");
      question.focus();
      return;
    }
    const request = { question: text, long: longBox.checked };
    const filters = currentFilters();
    if (Object.keys(filters).length) request.filters = filters;
    const mine = ++latest;
    askButton.disabled = true;
    result.setAttribute("aria-busy", "true");
    setStatus("Searching the guidelines…", "busy");
    try {
      const data = await api("/v1/ask", request);
      if (mine !== latest) return;
      render(data);
      const n = (data.citations || []).length;
      setStatus(data.abstained ? "Not answered: see the closest passages below." : `Answered with ${n} source${n === 1 ? "" : "s"}.`);
    } catch (error) {
      if (mine !== latest) return;
      const message = error.status === 503 ? "The index is still loading; try again in a moment."
        : error.status === 401 ? "this service asks for an API key: enter it above, then ask again."
        : error.message;
      setStatus("Could not answer: " + message, "error");
    } finally {
      if (mine === latest) {
        askButton.disabled = false;
        result.removeAttribute("aria-busy");
      }
    }
  }

  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", ask);
  keyInput.addEventListener("change", () => {
    const key = keyInput.value.trim();
    try { window.sessionStorage.setItem(KEY_STORE, key); } catch { /* storage off: asked again next time */ }
    // A link cannot send a header: the document links carry the key as a cookie for those files only,
    // never sent to another site, gone when the browser closes.
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `gqa_key=${encodeURIComponent(key)}; Path=/v1/documents; SameSite=Strict${secure}`;
    loadFilters(0);
  });
  keyInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      keyInput.dispatchEvent(new Event("change"));
      if (question.value.trim()) form.requestSubmit();
      else question.focus();
    }
  });
  bodySelect.addEventListener("change", showFilterCount);
  topicSelect.addEventListener("change", showFilterCount);
  loadFilters(0);
  question.focus();
})();

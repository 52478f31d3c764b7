/*
 * The annual review page (keyproof issue #12). Plain browser JavaScript, no build step, no framework, no
 * CDN: keyproof serves this file itself and the page's Content-Security-Policy allows nothing else.
 *
 * Everything the page shows comes from the JSON API with the reviewer's bearer token (kept in this tab's
 * sessionStorage). Every text from the API goes into the page through textContent or an attribute, never
 * through innerHTML: review data (titles, notes, principals) is written by other people and providers.
 *
 * Saving: a decision is saved as soon as it is chosen; a note or ticket change is saved after a short pause
 * in typing or when the field loses focus. Each save sends the revision of the item's decision the page last
 * saw; the API refuses a stale one (409) with the current value, which the page adopts and shows, so two
 * browsers never overwrite each other silently.
 */
(function reviewPage() {
  "use strict";

  const TOKEN_KEY = "keyproof.token";
  /** Pause after the last keystroke in a note or ticket field before it is saved. */
  const TYPING_PAUSE_MS = 800;
  /** How often a signed review whose evidence is still being sealed is read again. */
  const EVIDENCE_POLL_MS = 3000;

  const state = {
    /** @type {string | null} */
    token: null,
    /** @type {string | null} */
    reviewId: null,
    /** The review as the API last answered it. */
    review: null,
    /** Item id → entry (the item, its element, its form controls, the decision the server holds). */
    entries: new Map(),
    readOnly: false,
    /** Timer re-reading a signed review until its evidence is sealed. */
    evidencePoll: undefined,
  };

  const byId = (id) => {
    const element = document.getElementById(id);
    if (element === null) throw new Error(`review page: #${id} is missing from review.html`);
    return element;
  };

  /** Builds an element; text is always set as text, never parsed as markup. */
  function make(tag, options = {}, children = []) {
    const element = document.createElement(tag);
    if (options.className !== undefined) element.className = options.className;
    if (options.text !== undefined) element.textContent = String(options.text);
    for (const [name, value] of Object.entries(options.attributes ?? {})) element.setAttribute(name, value);
    for (const child of children) element.append(child);
    return element;
  }

  function show(element, visible) {
    element.hidden = !visible;
  }

  function showPageError(message) {
    const element = byId("page-error");
    element.textContent = message;
    show(element, message !== "");
  }

  // ---- API ----------------------------------------------------------------------------------------------

  /** One call to the API. Answers `{ status, data }`; `data` is the parsed JSON or null. */
  async function api(method, path, body) {
    const headers = { accept: "application/json", authorization: `Bearer ${state.token ?? ""}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      return { status: 0, data: { error: "unavailable", message: "the keyproof server did not answer" } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.status === 401) {
      // The token is unknown or revoked: back to the sign-in box, with the server's reason.
      signOut(messageOf(data, "the token was refused"));
    }
    return { status: response.status, data };
  }

  function messageOf(data, fallback) {
    return data !== null && typeof data === "object" && typeof data.message === "string"
      ? data.message
      : fallback;
  }

  function reviewPath(suffix = "") {
    return `/v1/reviews/${encodeURIComponent(state.reviewId ?? "")}${suffix}`;
  }

  // ---- sign-in ------------------------------------------------------------------------------------------

  function signOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(state.evidencePoll);
    state.token = null;
    state.review = null;
    state.entries = new Map();
    byId("groups").replaceChildren();
    show(byId("review"), false);
    show(byId("procedure"), false);
    show(byId("sign-out"), false);
    show(byId("refresh"), false);
    show(byId("sign-in"), true);
    showPageError(reason ?? "");
  }

  function reviewIdFromLocation() {
    // The shell is served at /reviews/<id>; the id is never written into the HTML, only read from the URL.
    const segments = location.pathname.split("/");
    if (segments.length !== 3 || segments[1] !== "reviews" || segments[2] === "") return null;
    try {
      return decodeURIComponent(segments[2]);
    } catch {
      return null;
    }
  }

  async function start() {
    show(byId("sign-in"), false);
    show(byId("sign-out"), true);
    show(byId("refresh"), true);
    showPageError("");
    await Promise.all([loadReview(), loadProcedure()]);
  }

  // ---- the review ---------------------------------------------------------------------------------------

  async function loadReview() {
    if (state.reviewId === null) {
      showPageError("This address names no review: open /reviews/<review id>.");
      return;
    }
    const { status, data } = await api("GET", reviewPath());
    if (status === 401) return;
    if (status !== 200) {
      show(byId("review"), false);
      showPageError(
        status === 404
          ? "No review with this id (auditors and operators see a review only once it is signed)."
          : `The review could not be loaded (${status}): ${messageOf(data, "no reason given")}`,
      );
      return;
    }
    renderReview(data);
  }

  function renderReview(review) {
    state.review = review;
    state.readOnly = review.status === "signed";
    state.entries = new Map();

    byId("review-organization").textContent = review.organization;
    byId("review-year").textContent = String(review.year);
    const period = review.bundle.period;
    byId("review-period").textContent = `${period.label} (${period.from} to ${period.to})`;
    byId("review-bundle").textContent =
      `run ${review.bundle.runId}, captured ${review.bundle.capturedAt}, manifest SHA-256 ${review.bundle.manifestSha256}`;
    byId("review-status").textContent = review.status;

    const groups = byId("groups");
    groups.replaceChildren();
    for (const group of groupItems(review.items)) {
      const section = make("section", { className: "group", attributes: { "data-group-key": group.key } }, [
        make("h2", { className: "group-title", text: group.label }),
      ]);
      for (const item of group.items)
        section.append(renderItem(item, review.allowedDecisions[item.kind] ?? []));
      groups.append(section);
    }

    fillFilters(review.items);
    fillBulkDecisions(review.allowedDecisions);
    renderSignOff(review);
    applyFilters();
    updateCounts();
    show(byId("review"), true);
  }

  /** Where an item belongs: source / location / key id; an item without a key sits under its location or source. */
  function groupPartsOf(item) {
    const parts = [item.source];
    if (item.location !== undefined && item.location !== "") parts.push(item.location);
    if (item.keyId !== undefined && item.keyId !== "") parts.push(item.keyId);
    return parts;
  }

  function groupKeyOf(item) {
    return JSON.stringify(groupPartsOf(item));
  }

  /** Items grouped by key, groups in the order the review lists their first item. */
  function groupItems(items) {
    const groups = new Map();
    for (const item of items) {
      const key = groupKeyOf(item);
      let group = groups.get(key);
      if (group === undefined) {
        group = { key, label: groupPartsOf(item).join(" / "), items: [] };
        groups.set(key, group);
      }
      group.items.push(item);
    }
    return [...groups.values()];
  }

  let radioGroupCounter = 0;

  function renderItem(item, allowed) {
    radioGroupCounter += 1;
    const radioName = `decision-${radioGroupCounter}`;
    const select = make("input", { className: "item-select", attributes: { type: "checkbox" } });
    select.setAttribute("aria-label", "Select for bulk decision");
    const stateText = make("span", { className: "item-state" });
    const head = make("div", { className: "item-head" }, [
      select,
      make("span", { className: "item-kind", text: item.kind }),
      make("span", { className: "item-title", text: item.title }),
      make("span", {
        className: "item-status",
        text: item.status,
        attributes: { "data-status": item.status },
      }),
      stateText,
    ]);

    const details = make("dl", { className: "item-details" });
    const detail = (label, value) => {
      if (value === undefined || value === "") return;
      details.append(make("dt", { text: label }), make("dd", { text: value }));
    };
    detail("Resource", item.resource);
    detail("Check", item.checkId);
    if (item.grant !== undefined) {
      detail("Principal", `${item.grant.principal} (${item.grant.principalType})`);
      detail("Actions", item.grant.actions.join(", "));
      detail("Effect", item.grant.effect);
      detail("Via", `${item.grant.via}: ${item.grant.reference}`);
    }
    const evidence = make(
      "ul",
      { className: "item-evidence" },
      item.evidence.map((entry) => make("li", { text: entry })),
    );

    const radios = allowed.map((value) =>
      make("input", {
        className: "item-decision-option",
        attributes: { type: "radio", name: radioName, value },
      }),
    );
    const fieldset = make(
      "fieldset",
      { className: "item-decision" },
      [make("legend", { text: "Decision" })].concat(
        radios.map((radio) => make("label", {}, [radio, ` ${radio.value}`])),
      ),
    );
    const note = make("textarea", { className: "item-note", attributes: { rows: "2", maxlength: "2000" } });
    const ticket = make("input", {
      className: "item-ticket",
      attributes: { type: "url", placeholder: "https://tickets.example/KEY-123", maxlength: "2000" },
    });
    const decidedBy = make("p", { className: "item-decided-by" });
    const conflict = make("p", { className: "item-conflict", attributes: { role: "alert" } });
    show(conflict, false);

    const element = make(
      "article",
      { className: "item", attributes: { "data-item-id": item.id, "data-kind": item.kind } },
      [
        head,
        details,
        evidence,
        fieldset,
        make("label", { className: "item-note-label" }, ["Note ", note]),
        make("label", { className: "item-ticket-label" }, ["Ticket URL ", ticket]),
        decidedBy,
        conflict,
      ],
    );

    const entry = {
      item,
      element,
      groupKey: groupKeyOf(item),
      controls: { select, radios, note, ticket, stateText, decidedBy, conflict },
      known: item.decision ?? null,
      saving: false,
      again: false,
      timer: undefined,
    };
    state.entries.set(item.id, entry);
    writeForm(entry, entry.known);
    setItemState(entry, entry.known === null ? "undecided" : "saved");

    for (const radio of radios) radio.addEventListener("change", () => void saveItem(entry));
    for (const field of [note, ticket]) {
      field.addEventListener("input", () => scheduleSave(entry));
      field.addEventListener("change", () => void saveItem(entry));
    }
    select.addEventListener("change", updateCounts);
    for (const control of [...radios, note, ticket, select]) control.disabled = state.readOnly;
    return element;
  }

  /** Puts a decision (or none) into the item's form and its "decided by" line. */
  function writeForm(entry, decision) {
    for (const radio of entry.controls.radios)
      radio.checked = decision !== null && radio.value === decision.decision;
    entry.controls.note.value = decision?.note ?? "";
    entry.controls.ticket.value = decision?.ticketUrl ?? "";
    entry.controls.decidedBy.textContent =
      decision === null
        ? ""
        : `Decided by ${decision.decidedBy} at ${decision.decidedAt} (revision ${decision.revision})`;
  }

  /** What the form says now. */
  function draftOf(entry) {
    const checked = entry.controls.radios.find((radio) => radio.checked);
    return {
      decision: checked === undefined ? null : checked.value,
      // Trimmed as the server stores it, so a trailing space does not read as an unsaved change forever.
      note: entry.controls.note.value.trim(),
      ticketUrl: entry.controls.ticket.value.trim(),
    };
  }

  function sameAsKnown(entry, draft) {
    const known = entry.known;
    return (
      known !== null &&
      known.decision === draft.decision &&
      known.note === draft.note &&
      (known.ticketUrl ?? "") === draft.ticketUrl
    );
  }

  const STATE_TEXT = {
    undecided: "undecided",
    unsaved: "not saved: choose a decision first",
    saving: "saving…",
    saved: "saved",
    conflict: "conflict",
    error: "not saved",
  };

  function setItemState(entry, itemState, detail) {
    entry.element.setAttribute("data-state", itemState);
    const text = STATE_TEXT[itemState] ?? itemState;
    entry.controls.stateText.textContent = detail === undefined ? text : `${text}: ${detail}`;
  }

  function scheduleSave(entry) {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void saveItem(entry), TYPING_PAUSE_MS);
  }

  /** Saves the item's form if it differs from what the server holds; one save per item at a time. */
  async function saveItem(entry) {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (state.readOnly) return;
    const draft = draftOf(entry);
    if (draft.decision === null) {
      setItemState(entry, draft.note === "" && draft.ticketUrl === "" ? "undecided" : "unsaved");
      return;
    }
    if (sameAsKnown(entry, draft)) return;
    if (entry.saving) {
      // Saved once the save in flight answers, with the revision it returns.
      entry.again = true;
      return;
    }
    entry.saving = true;
    try {
      await putDecisions([{ entry, draft }]);
    } finally {
      entry.saving = false;
      if (entry.again) {
        entry.again = false;
        void saveItem(entry);
      }
    }
  }

  /**
   * One PUT for the given drafts (all-or-nothing on the server). Answers true when all were saved.
   * @param {Array<{ entry: object, draft: { decision: string, note: string, ticketUrl: string } }>} changes
   */
  async function putDecisions(changes) {
    for (const { entry } of changes) setItemState(entry, "saving");
    const decisions = changes.map(({ entry, draft }) => ({
      itemId: entry.item.id,
      revision: entry.known?.revision ?? 0,
      decision: draft.decision,
      note: draft.note,
      ...(draft.ticketUrl === "" ? {} : { ticketUrl: draft.ticketUrl }),
    }));
    const { status, data } = await api("PUT", reviewPath("/decisions"), { decisions });
    if (status === 200 && data !== null && typeof data.decisions === "object") {
      for (const { entry } of changes) {
        const saved = data.decisions[entry.item.id];
        if (saved === undefined) continue;
        // The form is left as it is: typing during the save is saved next, against this revision.
        entry.known = saved;
        entry.controls.decidedBy.textContent = `Decided by ${saved.decidedBy} at ${saved.decidedAt} (revision ${saved.revision})`;
        show(entry.controls.conflict, false);
        entry.element.classList.remove("has-conflict");
        setItemState(entry, "saved");
      }
      if (state.review !== null && typeof data.version === "number") state.review.version = data.version;
      updateCounts();
      return true;
    }
    if (status === 409 && data !== null && Array.isArray(data.conflicts)) {
      const conflicted = new Set();
      for (const conflict of data.conflicts) {
        const entry = state.entries.get(conflict.itemId);
        if (entry === undefined) continue;
        conflicted.add(entry);
        const mine = changes.find((change) => change.entry === entry)?.draft;
        showConflict(entry, conflict.current ?? null, mine);
      }
      for (const { entry } of changes) {
        if (!conflicted.has(entry)) {
          setItemState(
            entry,
            "error",
            "saved together with an item someone else changed; nothing was applied",
          );
        }
      }
      updateCounts();
      return false;
    }
    if (status === 409) {
      // Signed meanwhile (from another browser): read-only from now on.
      for (const { entry } of changes)
        setItemState(entry, "error", messageOf(data, "the review is read-only"));
      showPageError(messageOf(data, "The review can no longer be changed."));
      await loadReview();
      return false;
    }
    for (const { entry } of changes)
      setItemState(entry, "error", `${status} ${messageOf(data, "no reason given")}`);
    if (status === 403) showPageError(messageOf(data, "Your token may not decide review items."));
    return false;
  }

  /** Someone else changed the item: adopt their value (so the next save uses its revision) and say so. */
  function showConflict(entry, current, mine) {
    entry.known = current;
    writeForm(entry, current);
    const theirs =
      current === null
        ? "Changed by someone else: the item has no decision now."
        : `Changed by ${current.decidedBy} at ${current.decidedAt}: ${current.decision} — ${current.note === "" ? "(no note)" : current.note}` +
          (current.ticketUrl === undefined ? "" : ` (${current.ticketUrl})`);
    const yours =
      mine === undefined
        ? ""
        : ` Your change was not saved: ${mine.decision} — ${mine.note === "" ? "(no note)" : mine.note}.`;
    entry.controls.conflict.textContent = `${theirs}${yours}`;
    show(entry.controls.conflict, true);
    entry.element.classList.add("has-conflict");
    setItemState(entry, "conflict");
  }

  // ---- filters and selection ----------------------------------------------------------------------------

  function fillSelect(select, options) {
    const previous = select.value;
    select.replaceChildren(make("option", { text: "all", attributes: { value: "" } }));
    for (const { value, label } of options)
      select.append(make("option", { text: label, attributes: { value } }));
    select.value = options.some((option) => option.value === previous) ? previous : "";
  }

  function fillFilters(items) {
    const unique = (values) => [...new Set(values)].sort();
    fillSelect(
      byId("filter-source"),
      unique(items.map((item) => item.source)).map((value) => ({ value, label: value })),
    );
    const keys = new Map();
    for (const entry of state.entries.values()) {
      if (!keys.has(entry.groupKey)) keys.set(entry.groupKey, JSON.parse(entry.groupKey).join(" / "));
    }
    fillSelect(
      byId("filter-key"),
      [...keys].map(([value, label]) => ({ value, label })),
    );
    fillSelect(
      byId("filter-status"),
      unique(items.map((item) => item.status)).map((value) => ({ value, label: value })),
    );
  }

  function applyFilters() {
    const source = byId("filter-source").value;
    const key = byId("filter-key").value;
    const status = byId("filter-status").value;
    const undecidedOnly = byId("filter-undecided").checked;
    for (const entry of state.entries.values()) {
      const visible =
        (source === "" || entry.item.source === source) &&
        (key === "" || entry.groupKey === key) &&
        (status === "" || entry.item.status === status) &&
        (!undecidedOnly || entry.known === null);
      show(entry.element, visible);
      // A hidden item is never bulk-decided by surprise.
      if (!visible) entry.controls.select.checked = false;
    }
    for (const group of byId("groups").children) {
      show(
        group,
        [...group.querySelectorAll(".item")].some((item) => !item.hidden),
      );
    }
    updateCounts();
  }

  function visibleEntries() {
    return [...state.entries.values()].filter((entry) => !entry.element.hidden);
  }

  function selectedEntries() {
    return visibleEntries().filter((entry) => entry.controls.select.checked);
  }

  function updateCounts() {
    const visible = visibleEntries();
    const selected = selectedEntries();
    byId("visible-count").textContent = `${visible.length} of ${state.entries.size} items shown`;
    byId("selected-count").textContent = `${selected.length} selected`;
    const selectVisible = byId("select-visible");
    selectVisible.checked = visible.length > 0 && selected.length === visible.length;
    const undecided = [...state.entries.values()].filter((entry) => entry.known === null).length;
    byId("review-undecided").textContent = String(undecided);
  }

  function fillBulkDecisions(allowedDecisions) {
    const values = [...new Set(Object.values(allowedDecisions).flat())];
    const select = byId("bulk-decision");
    select.replaceChildren(make("option", { text: "choose…", attributes: { value: "" } }));
    for (const value of values) select.append(make("option", { text: value, attributes: { value } }));
  }

  async function applyBulk() {
    const result = byId("bulk-result");
    const decision = byId("bulk-decision").value;
    const note = byId("bulk-note").value;
    const selected = selectedEntries();
    if (decision === "" || selected.length === 0) {
      result.textContent = "Select items and a decision first.";
      return;
    }
    const refused = selected.filter(
      (entry) => !(state.review.allowedDecisions[entry.item.kind] ?? []).includes(decision),
    );
    if (refused.length > 0) {
      const kinds = [...new Set(refused.map((entry) => entry.item.kind))].join(", ");
      result.textContent = `Nothing applied: "${decision}" is not a decision for ${kinds} items (${refused.length} selected).`;
      return;
    }
    const changes = selected.map((entry) => {
      clearTimeout(entry.timer);
      const draft = draftOf(entry);
      return {
        entry,
        draft: { decision, note: note === "" ? draft.note : note, ticketUrl: draft.ticketUrl },
      };
    });
    result.textContent = `Saving ${changes.length} decisions…`;
    const saved = await putDecisions(changes);
    if (saved) {
      for (const { entry } of changes) writeForm(entry, entry.known);
      for (const { entry } of changes) entry.controls.select.checked = false;
      result.textContent = `Saved "${decision}" on ${changes.length} items.`;
    } else {
      result.textContent = "Nothing applied; see the items marked below.";
    }
    updateCounts();
  }

  // ---- sign-off -----------------------------------------------------------------------------------------

  function renderSignOff(review) {
    const signed = review.status === "signed";
    show(byId("sign-off"), !signed);
    show(byId("signed-info"), signed);
    for (const id of ["bulk-decision", "bulk-note", "bulk-apply", "select-visible"])
      byId(id).disabled = signed;
    byId("undecided-list").replaceChildren();
    byId("sign-result").textContent = "";
    if (!signed || review.signOff === undefined) return;
    const signOff = review.signOff;
    byId("signed-reviewer").textContent = `${signOff.name}, ${signOff.title}`;
    byId("signed-at").textContent = signOff.signedAt;
    byId("signed-identity").textContent =
      `${signOff.identity.tokenName} (${signOff.identity.role}, token ${signOff.identity.tokenId})`;
    byId("signed-digest").textContent = signOff.decisionsSha256;
    byId("signed-evidence").textContent = evidenceText(review.evidence);
    if (review.evidence?.state === "pending") {
      // A render worker seals the signed review; the page is read-only, so reloading it loses nothing.
      clearTimeout(state.evidencePoll);
      state.evidencePoll = setTimeout(() => void loadReview(), EVIDENCE_POLL_MS);
    }
  }

  function evidenceText(evidence) {
    if (evidence === undefined) return "not sealed yet";
    switch (evidence.state) {
      case "sealed":
        return (
          `sealed in run ${evidence.runId}, manifest SHA-256 ${evidence.manifestSha256}` +
          (evidence.location === undefined ? "" : ` at ${evidence.location}`)
        );
      case "pending":
        return `pending: a render worker is sealing it (requested ${evidence.requestedAt})`;
      case "failed":
        return `sealing failed: ${evidence.message} (keyproof review seal retries)`;
      default:
        return `unknown state ${String(evidence.state)}`;
    }
  }

  async function sign(event) {
    event.preventDefault();
    const result = byId("sign-result");
    const list = byId("undecided-list");
    list.replaceChildren();
    const name = byId("sign-name").value.trim();
    const title = byId("sign-title").value.trim();
    if (name === "" || title === "") {
      result.textContent = "Type your name and title.";
      return;
    }
    if (!byId("sign-confirm").checked) {
      result.textContent = "Tick the confirmation first.";
      return;
    }
    // Notes typed a moment ago are saved before the signature covers the decisions.
    await Promise.all(
      [...state.entries.values()]
        .filter((entry) => entry.timer !== undefined)
        .map((entry) => saveItem(entry)),
    );
    byId("sign-button").disabled = true;
    result.textContent = "Signing…";
    const { status, data } = await api("POST", reviewPath("/sign"), { name, title });
    byId("sign-button").disabled = false;
    if (status === 200 && data !== null) {
      renderReview(data);
      showPageError("");
      return;
    }
    if (status === 409 && data !== null && Array.isArray(data.undecided)) {
      result.textContent = `${data.undecided.length} items are still undecided:`;
      for (const itemId of data.undecided) {
        const entry = state.entries.get(itemId);
        list.append(
          make("li", {
            text: entry === undefined ? itemId : entry.item.title,
            attributes: { "data-item-id": itemId },
          }),
        );
      }
      return;
    }
    result.textContent = `Not signed (${status}): ${messageOf(data, "no reason given")}`;
    if (status === 409) await loadReview();
  }

  // ---- procedure approval -------------------------------------------------------------------------------

  async function loadProcedure() {
    const section = byId("procedure");
    const { status, data } = await api("GET", "/v1/procedure");
    if (status === 401) return;
    show(section, true);
    if (status !== 200 || data === null) {
      byId("procedure-current").textContent =
        `not available (${status}): ${messageOf(data, "no reason given")}`;
      byId("procedure-latest").textContent = "";
      byId("procedure-matches").textContent = "";
      return;
    }
    byId("procedure-current").textContent =
      `version ${data.procedure.version}, text SHA-256 ${data.procedure.textSha256}`;
    const latest = data.latestApproval;
    byId("procedure-latest").textContent =
      latest === undefined || latest === null
        ? "never approved"
        : `version ${latest.version} approved by ${latest.name}, ${latest.title} at ${latest.approvedAt} (recorded by ${latest.recordedBy})`;
    byId("procedure-matches").textContent = data.matchesCurrentText
      ? "yes"
      : "no: the current text needs approval";
  }

  async function approveProcedure(event) {
    event.preventDefault();
    const result = byId("approve-result");
    const name = byId("approve-name").value.trim();
    const title = byId("approve-title").value.trim();
    if (name === "" || title === "") {
      result.textContent = "Type your name and title.";
      return;
    }
    if (!byId("approve-confirm").checked) {
      result.textContent = "Tick the confirmation first.";
      return;
    }
    const { status, data } = await api("POST", "/v1/procedure/approvals", { name, title });
    if (status === 201 && data !== null) {
      result.textContent = `Approved version ${data.version} at ${data.approvedAt}.`;
      byId("approve-confirm").checked = false;
      await loadProcedure();
      return;
    }
    result.textContent = `Not approved (${status}): ${messageOf(data, "no reason given")}`;
  }

  // ---- wiring -------------------------------------------------------------------------------------------

  function wire() {
    state.reviewId = reviewIdFromLocation();
    byId("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = byId("token-input").value.trim();
      if (token === "") return;
      sessionStorage.setItem(TOKEN_KEY, token);
      state.token = token;
      byId("token-input").value = "";
      void start();
    });
    byId("sign-out").addEventListener("click", (event) => {
      event.preventDefault();
      signOut();
    });
    byId("refresh").addEventListener("click", () => void loadReview());
    for (const id of ["filter-source", "filter-key", "filter-status", "filter-undecided"]) {
      byId(id).addEventListener("change", applyFilters);
    }
    byId("select-visible").addEventListener("change", (event) => {
      for (const entry of visibleEntries()) entry.controls.select.checked = event.target.checked;
      updateCounts();
    });
    byId("bulk-apply").addEventListener("click", () => void applyBulk());
    byId("sign-form").addEventListener("submit", (event) => void sign(event));
    byId("approve-form").addEventListener("submit", (event) => void approveProcedure(event));

    state.token = sessionStorage.getItem(TOKEN_KEY);
    if (state.token === null) {
      show(byId("sign-in"), true);
      if (state.reviewId === null) showPageError("This address names no review: open /reviews/<review id>.");
      return;
    }
    void start();
  }

  wire();
})();

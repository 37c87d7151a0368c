// Taskflow's own script. Every page works without it; with it, board cards move by drag and
// drop and by Alt+arrow keys, uploads show their progress, and errors are said in words. It
// talks to /api/v1 with the session cookie and the page's CSRF token, and never evaluates
// text as code.
"use strict";

(function () {
  // Content-Security-Policy violations on this page, counted from the first one, so a test
  // (or a person in the console) can see that nothing was blocked.
  let violations = 0;
  document.addEventListener("securitypolicyviolation", function () {
    violations += 1;
    document.documentElement.dataset.cspViolations = String(violations);
  });

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Says `text` to screen readers (and shows it) in the page's live region.
  function announce(text) {
    const region = document.getElementById("announce");
    if (!region) return;
    region.textContent = "";
    window.clearTimeout(announce.timer);
    window.setTimeout(function () { region.textContent = text; }, 30);
    announce.timer = window.setTimeout(function () { region.textContent = ""; }, 8000);
  }

  // An API error's answer in words a person understands.
  function words(status, body) {
    const message = body && body.error && body.error.message ? body.error.message : "";
    switch (status) {
      case 0: return "Taskflow could not be reached; check the connection and try again.";
      case 401: return "Your session has ended; reload the page to sign in again.";
      case 403: return "Your role in this project does not allow that.";
      case 404: return "That is gone: someone may have deleted it.";
      case 409: return message ? capital(message) : "That conflicts with the project as it is now.";
      case 412: return "Someone else changed this meanwhile.";
      case 413: return capital(message || "the file is larger than this server accepts");
      case 422: return capital(message || "that was not accepted");
      case 429: return "Too many requests just now; wait a moment and try again.";
      case 503: return "Taskflow cannot reach its database just now; nothing was changed. Try again in a few seconds.";
      case 507: return "The server's disk or this project's quota is full; nothing was stored. An administrator needs to free some space.";
      default: return "Something went wrong (" + status + "); nothing was changed.";
    }
  }

  function capital(text) {
    const sentence = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?]$/.test(sentence) ? sentence : sentence + ".";
  }

  async function api(method, path, body, headers) {
    const init = {
      method: method,
      credentials: "same-origin",
      headers: Object.assign({ "X-CSRF-Token": csrf(), "Accept": "application/json" }, headers || {}),
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (_) {
      return { status: 0, body: null };
    }
    let answer = null;
    try { answer = await response.json(); } catch (_) { answer = null; }
    return { status: response.status, body: answer };
  }

  // ---- The board ----

  function cardsOf(list) {
    return Array.from(list.children).filter(function (el) { return el.classList.contains("card-item"); });
  }

  function columnTitle(list) {
    return list.dataset.title || list.dataset.status;
  }

  // Where a card now sits in `list`, as the move endpoint wants it.
  function placement(card, list) {
    const cards = cardsOf(list);
    const index = cards.indexOf(card);
    if (index > 0) return { after: cards[index - 1].dataset.key };
    if (cards.length > 1) return { before: cards[1].dataset.key };
    return { position: "top" };
  }

  // A column's heading counts every task in it (not only the cards loaded): a card coming in or
  // going out changes it by one, and may take the column over its limit or back under it.
  function recount(list, by) {
    const count = Math.max(0, Number(list.dataset.count || "0") + by);
    list.dataset.count = String(count);
    const section = list.closest("section");
    const shown = section && section.querySelector(".count .n");
    if (shown) shown.textContent = String(count);
    const limit = Number(list.dataset.limit || "0");
    if (section && limit > 0) {
      section.classList.toggle("over-limit", count > limit);
      const over = section.querySelector(".over");
      if (over) over.hidden = count <= limit;
    }
  }

  // A move changes two columns' counts.
  function shift(from, to) {
    if (from === to) return;
    recount(from, -1);
    recount(to, 1);
  }

  // One tab stop per card: the card itself. Its link and menu stay clickable; the keyboard
  // reaches them through the card (Enter opens it, `m` its menu), and arrow keys move between
  // cards.
  function tabStops(root) {
    root.querySelectorAll(".card-item a.title, .card-item summary").forEach(function (el) {
      el.setAttribute("tabindex", "-1");
    });
  }

  function arrows(board) {
    board.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
      const card = event.target;
      if (!card.classList || !card.classList.contains("card-item")) return;
      const lists = Array.from(board.querySelectorAll("ol.cards"));
      const list = card.parentElement;
      const cards = cardsOf(list);
      const index = cards.indexOf(card);
      let next = null;
      switch (event.key) {
        case "ArrowUp": next = cards[index - 1]; break;
        case "ArrowDown": next = cards[index + 1]; break;
        case "ArrowLeft":
        case "ArrowRight": {
          const step = event.key === "ArrowLeft" ? -1 : 1;
          for (let i = lists.indexOf(list) + step; i >= 0 && i < lists.length && !next; i += step) {
            const there = cardsOf(lists[i]);
            next = there[Math.min(index, there.length - 1)] || null;
          }
          break;
        }
        case "Home": next = cards[0]; break;
        case "End": next = cards[cards.length - 1]; break;
        default: return;
      }
      event.preventDefault();
      if (next) {
        next.focus();
        next.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    });
  }

  // Keeps the card's "Move…" form in step with where the card is now.
  function settle(card, list, version) {
    card.dataset.version = String(version);
    const form = card.querySelector("form");
    if (!form) return;
    form.elements.version.value = String(version);
    form.elements.status.value = list.dataset.status;
  }

  function putBack(card, from, index) {
    card.remove();
    const cards = cardsOf(from);
    from.insertBefore(card, cards[index] || from.querySelector(".more"));
  }

  // Replaces a stale card with the card as the server has it now, in its column.
  async function refresh(board, card, from, index) {
    putBack(card, from, index);
    let fresh = null;
    try {
      const response = await fetch("/p/" + board.dataset.project + "/card/" + card.dataset.key, { credentials: "same-origin" });
      if (response.ok) fresh = nodes(await response.text()).querySelector("li.card-item");
    } catch (_) { fresh = null; }
    if (!fresh) return card;
    fresh = document.importNode(fresh, true);
    noteOn(fresh, "Someone else changed this task meanwhile, so it was not moved. This is how it is now.");
    card.replaceWith(fresh);
    const home = board.querySelector('ol.cards[data-status="' + CSS.escape(fresh.dataset.status) + '"]');
    if (home && home !== fresh.parentElement) {
      fresh.remove();
      home.insertBefore(fresh, cardsOf(home)[0] || home.querySelector(".more"));
    }
    return fresh;
  }

  // Sends one move for `card`, now in `list`; puts it back (or refreshes it) when refused.
  async function send(board, card, from, index) {
    const list = card.parentElement;
    const key = card.dataset.key;
    const body = Object.assign({ status: list.dataset.status }, placement(card, list));
    card.setAttribute("aria-busy", "true");
    const answer = await api("POST", "/api/v1/tasks/" + encodeURIComponent(key) + "/move", body,
      { "If-Match": '"' + card.dataset.version + '"' });
    card.removeAttribute("aria-busy");
    if (answer.status === 200 && answer.body) {
      settle(card, list, answer.body.version);
      shift(from, list);
      const position = cardsOf(list).indexOf(card) + 1;
      announce(key + " moved to " + columnTitle(list) + ", position " + position + " of " + (list.dataset.count || cardsOf(list).length) + ".");
      return card;
    }
    if (answer.status === 412) {
      const fresh = await refresh(board, card, from, index);
      tabStops(fresh.parentElement || board);
      announce(key + " was not moved: someone else changed it meanwhile. The board shows it as it is now.");
      return fresh;
    }
    putBack(card, from, index);
    announce(key + " was not moved. " + words(answer.status, answer.body));
    return card;
  }

  function dragging(board) {
    if (typeof window.Sortable !== "function") return;
    board.querySelectorAll("ol.cards").forEach(function (list) {
      window.Sortable.create(list, {
        group: "board",
        draggable: ".card-item",
        filter: "details, summary, select, button, input, .more",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        delay: 250,
        delayOnTouchOnly: true,
        animation: 120,
        onEnd: function (event) {
          if (event.from === event.to && event.oldDraggableIndex === event.newDraggableIndex) return;
          send(board, event.item, event.from, event.oldDraggableIndex);
        },
      });
    });
  }

  function keyboard(board) {
    board.addEventListener("keydown", function (event) {
      if (!event.altKey || event.ctrlKey || event.metaKey) return;
      const card = event.target;
      if (!card.classList || !card.classList.contains("card-item")) return;
      const from = card.parentElement;
      const lists = Array.from(board.querySelectorAll("ol.cards"));
      const cards = cardsOf(from);
      const index = cards.indexOf(card);
      let to = from;
      let before = null;
      switch (event.key) {
        case "ArrowLeft":
        case "ArrowRight": {
          to = lists[lists.indexOf(from) + (event.key === "ArrowLeft" ? -1 : 1)];
          if (!to) return announce(card.dataset.key + " is already in the " + (event.key === "ArrowLeft" ? "first" : "last") + " column.");
          before = cardsOf(to)[0] || to.querySelector(".more");
          break;
        }
        case "ArrowUp":
          if (index === 0) return announce(card.dataset.key + " is already at the top of " + columnTitle(from) + ".");
          before = cards[index - 1];
          break;
        case "ArrowDown":
          if (index === cards.length - 1) return announce(card.dataset.key + " is already at the bottom of " + columnTitle(from) + ".");
          before = cards[index + 1].nextElementSibling;
          break;
        default:
          return;
      }
      event.preventDefault();
      to.insertBefore(card, before);
      card.focus();
      send(board, card, from, index).then(function (now) { now.focus(); });
    });
  }

  // ---- Editing in place: one field of a card, a list row or the task page ----

  const FIELD_WORDS = { status: "status", assignees: "assignees", labels: "labels", priority: "priority", due: "due date", estimate: "estimate", title: "title", description: "description" };
  const NOW_AS_IT_IS = "Someone else changed this task meanwhile, so that was not changed. This is how it is now.";

  // The item a link or key press changes: a card, a row, or the task page's top.
  function editItem(from) {
    const item = from && from.closest ? from.closest("[data-in][data-key]") : null;
    return item || document.getElementById("task-top");
  }

  // Server-drawn HTML (this site's own fragment) as nodes; a template parses rows and list
  // items where they stand.
  function nodes(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function taskVersion(version) {
    document.querySelectorAll("#task-top, [data-checks]").forEach(function (el) { el.dataset.version = String(version); });
    document.querySelectorAll('input[name="version"]').forEach(function (field) { field.value = String(version); });
  }

  // Puts each element of an answer in place of the page's element with its id; a card whose
  // status changed goes to the top of its new column. Answers the item, as it is now.
  function swapIn(html, itemId) {
    const old = document.getElementById(itemId);
    const from = old && old.classList.contains("card-item") ? old.parentElement : null;
    Array.from(nodes(html).children).forEach(function (el) {
      const there = el.id && document.getElementById(el.id);
      if (!there) return;
      const fresh = document.importNode(el, true);
      if (there.classList.contains("chosen")) fresh.classList.add("chosen");
      there.replaceWith(fresh);
      fresh.querySelectorAll("[data-checks]").forEach(checklists);
    });
    const now = document.getElementById(itemId);
    if (now && from && now.dataset.status !== from.dataset.status) {
      const board = from.closest(".board");
      const to = board && board.querySelector('ol.cards[data-status="' + CSS.escape(now.dataset.status) + '"]');
      if (to) {
        to.insertBefore(now, cardsOf(to)[0] || to.querySelector(".more"));
        shift(from, to);
      }
    }
    if (now && now.classList.contains("card-item")) tabStops(now.parentElement);
    return now;
  }

  // A note on a card or row drawn again (the page's live region says it too).
  function noteOn(item, text) {
    if (!item) return;
    const note = document.createElement("p");
    note.className = "card-notice";
    note.textContent = text;
    const host = item.querySelector(".title-cell") || item;
    host.appendChild(note);
  }

  function dialogHost() {
    let dialog = document.getElementById("edit-dialog");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "edit-dialog";
    dialog.className = "edit-dialog";
    dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener("close", function () { dialog.replaceChildren(); focusBack(dialog.dataset.item); });
    document.body.appendChild(dialog);
    return dialog;
  }

  // The focus back on the item a menu changed (drawn again meanwhile, perhaps); not when it has
  // gone on to another card or row, or into a field: the dialog's close event comes after the
  // person may have moved on.
  function focusBack(itemId) {
    const back = document.getElementById(itemId || "");
    if (!back) return;
    const now = document.activeElement;
    const elsewhere = now && now !== document.body && !now.closest("dialog") && !back.contains(now)
      && now.closest("[data-in][data-key], input, textarea, select") !== null;
    if (elsewhere) return;
    (back.classList.contains("card-item") ? back : back.querySelector("a[data-edit-field]") || back).focus();
  }

  // Next to what opened it on a wide screen; a sheet at the bottom on a phone (CSS).
  function placeNear(dialog, anchor) {
    dialog.style.left = "";
    dialog.style.top = "";
    if (window.matchMedia("(max-width: 600px)").matches || !anchor) return;
    const r = anchor.getBoundingClientRect();
    dialog.style.left = Math.max(8, Math.min(r.left, window.innerWidth - 340)) + "px";
    dialog.style.top = Math.max(8, Math.min(r.bottom + 4, window.innerHeight - 380)) + "px";
  }

  function shownChoices(form) {
    return Array.from(form.querySelectorAll(".menu-choices li")).filter(function (li) { return !li.hidden; })
      .map(function (li) { return li.querySelector("button, input"); });
  }

  function closeEditor(form) {
    const dialog = form.closest("dialog");
    if (dialog) {
      dialog.close();
      focusBack(dialog.dataset.item);
      return;
    }
    const shown = form.previousElementSibling && form.previousElementSibling.hidden ? form.previousElementSibling : null;
    form.remove();
    if (shown) shown.hidden = false;
    const top = document.getElementById("task-top");
    const link = top && (document.querySelector('a[data-edit-field="' + form.dataset.field + '"]'));
    if (link) link.focus();
  }

  // The menu's keys: type to filter, arrows between choices, Enter to choose (or tick).
  function wireMenu(form, itemId) {
    const filter = form.querySelector(".menu-filter");
    const many = form.dataset.kind === "many";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      saveField(form, itemId, event.submitter);
    });
    form.querySelectorAll("[data-menu-close]").forEach(function (button) {
      button.addEventListener("click", function () { closeEditor(form); });
    });
    if (many) {
      form.querySelectorAll(".menu-choices input").forEach(function (box) {
        box.addEventListener("change", function () { saveField(form, itemId, null); });
      });
    }
    if (filter) {
      filter.addEventListener("input", function () {
        const words = filter.value.trim().toLowerCase();
        let any = false;
        form.querySelectorAll(".menu-choices li").forEach(function (li) {
          li.hidden = words !== "" && li.textContent.toLowerCase().indexOf(words) === -1;
          any = any || !li.hidden;
        });
        form.querySelector(".menu-none").hidden = any;
      });
    }
    form.addEventListener("keydown", function (event) {
      const choices = shownChoices(form);
      const at = choices.indexOf(event.target);
      if (event.key === "Escape" && !form.closest("dialog")) { event.preventDefault(); closeEditor(form); return; }
      if (event.key === "Enter" && event.target === filter) {
        event.preventDefault();
        const first = choices[0];
        if (!first) return;
        if (many) { first.checked = !first.checked; first.dispatchEvent(new Event("change")); filter.select(); } else { first.click(); }
        return;
      }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        form.requestSubmit();
        return;
      }
      if (event.key === "Enter" && many && at !== -1) {
        event.preventDefault();
        event.target.checked = !event.target.checked;
        event.target.dispatchEvent(new Event("change"));
        return;
      }
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      if (event.target !== filter && at === -1) return;
      event.preventDefault();
      const next = event.key === "ArrowDown" ? choices[at + 1] : (at <= 0 ? filter : choices[at - 1]);
      if (next) next.focus();
    });
  }

  function focusIn(form) {
    const first = form.querySelector(".menu-filter, #menu-text, .menu-choices button");
    if (first) {
      first.focus();
      if (first.select && first.tagName !== "BUTTON") first.select();
    }
  }

  // Posts `data` to `form`'s address asking for a fragment to put in place (not a page or a
  // redirect); the form is busy meanwhile. Answers the response, or null when the server could
  // not be reached.
  async function postForFragment(form, data) {
    form.setAttribute("aria-busy", "true");
    let response = null;
    try {
      response = await fetch(form.action, {
        method: "POST", credentials: "same-origin", body: new URLSearchParams(data),
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Taskflow-Fragment": "1" },
      });
    } catch (_) { response = null; }
    form.removeAttribute("aria-busy");
    return response;
  }

  // Saves one field with the version the page showed, and puts the answer in place.
  async function saveField(form, itemId, submitter) {
    const item = document.getElementById(itemId);
    const data = submitter ? new FormData(form, submitter) : new FormData(form);
    if (item && item.dataset.version) data.set("version", item.dataset.version);
    const key = item ? item.dataset.key : "";
    const what = FIELD_WORDS[form.dataset.field] || "field";
    const response = await postForFragment(form, data);
    const status = response ? response.status : 0;
    if (status === 200 || status === 412) {
      const version = response.headers.get("X-Task-Version");
      const stays = form.dataset.kind === "many" && status === 200 && form.isConnected;
      const now = swapIn(await response.text(), itemId);
      if (version && itemId === "task-top") taskVersion(version);
      if (status === 412) {
        noteOn(now, NOW_AS_IT_IS);
        announce(key + ": " + NOW_AS_IT_IS);
      } else {
        announce(key + ": " + what + " saved.");
      }
      if (stays) return;
      if (form.isConnected) closeEditor(form);
      else if (now && now.classList.contains("card-item")) now.focus();
      else {
        const link = document.querySelector('a[data-edit-field="' + form.dataset.field + '"]');
        if (link) link.focus();
      }
      return;
    }
    if (status === 422) {
      const fresh = nodes(await response.text()).querySelector("form.edit-menu");
      if (fresh) {
        form.replaceWith(fresh);
        wireMenu(fresh, itemId);
        focusIn(fresh);
        const problem = fresh.querySelector(".problem");
        if (problem) announce(problem.textContent);
      }
      return;
    }
    const said = key + ": the " + what + " was not saved. " + words(status, null);
    let problem = form.querySelector(".problem");
    if (!problem) {
      problem = document.createElement("p");
      problem.className = "problem";
      problem.setAttribute("role", "alert");
      form.appendChild(problem);
    }
    problem.textContent = said;
  }

  // Opens the menu for `field` of `item`, by `anchor` (the link clicked, or the item).
  async function openEditor(item, field, anchor) {
    if (!item || !item.id) return;
    const url = "/t/" + encodeURIComponent(item.dataset.key) + "/menu/" + field + "?in=" + item.dataset.in;
    let response = null;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { "X-Taskflow-Fragment": "1" } });
    } catch (_) { response = null; }
    if (!response || !response.ok) {
      announce(item.dataset.key + ": " + words(response ? response.status : 0, null));
      return;
    }
    const form = nodes(await response.text()).querySelector("form.edit-menu");
    if (!form) return;
    if (field === "title" || field === "description") {
      const shown = field === "title"
        ? item.querySelector(".heading")
        : document.querySelector("#task-description .description-body, #task-description > .empty");
      if (!shown) return;
      const open = shown.parentElement.querySelector("form.edit-menu");
      if (open) { focusIn(open); return; }
      form.classList.add("inline");
      shown.after(form);
      // The shown part sits just before the form, hidden, so cancelling finds it there.
      shown.hidden = true;
    } else {
      const dialog = dialogHost();
      if (dialog.open) dialog.close();
      dialog.dataset.item = item.id;
      dialog.replaceChildren(form);
      placeNear(dialog, anchor && anchor.isConnected && anchor.offsetParent ? anchor : item);
      dialog.showModal();
    }
    wireMenu(form, item.id);
    focusIn(form);
  }

  // A card's ⋯ menu, open, floats over the board next to its button; one open at a time, and
  // Esc or a click elsewhere closes it.
  function cardMenus() {
    document.addEventListener("toggle", function (event) {
      const menu = event.target;
      if (!menu.classList || !menu.classList.contains("card-menu")) return;
      const pop = menu.querySelector(".card-pop");
      if (!menu.open || !pop) return;
      document.querySelectorAll("details.card-menu[open]").forEach(function (other) { if (other !== menu) other.open = false; });
      const at = menu.querySelector("summary").getBoundingClientRect();
      pop.classList.add("floating");
      const width = pop.offsetWidth;
      const height = pop.offsetHeight;
      const below = at.bottom + 4;
      pop.style.left = Math.max(8, Math.min(at.right - width, window.innerWidth - width - 8)) + "px";
      pop.style.top = (below + height <= window.innerHeight - 8 ? below : Math.max(8, at.top - height - 4)) + "px";
    }, true);
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.card-menu[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) menu.open = false;
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      const menu = event.target.closest ? event.target.closest("details.card-menu[open]") : null;
      if (!menu) return;
      menu.open = false;
      const card = menu.closest(".card-item");
      if (card) card.focus();
    });
    // Scrolling the page or the board leaves an open menu behind its button: it closes.
    window.addEventListener("scroll", function (event) {
      if (event.target.closest && event.target.closest(".card-pop")) return;
      document.querySelectorAll("details.card-menu[open]").forEach(function (menu) { menu.open = false; });
    }, true);
  }

  function editing() {
    document.addEventListener("click", function (event) {
      const link = event.target.closest ? event.target.closest("a[data-edit-field]") : null;
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      const menu = link.closest("details");
      if (menu) menu.open = false;
      openEditor(editItem(link), link.dataset.editField, link.closest("details") ? link.closest("[data-in]") : link);
    });
  }

  // ---- Quick add: completion of #label and @username, and adding without a page load ----

  // The project's labels and members, fetched once per page when completion first needs them.
  const known = {};
  function namesOf(project) {
    if (!known[project]) {
      known[project] = fetch("/p/" + encodeURIComponent(project) + "/names", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { labels: [], people: [] }; })
        .catch(function () { return { labels: [], people: [] }; });
    }
    return known[project];
  }

  // The `#word` or `@word` being typed where the caret is, if any.
  function tokenAt(input) {
    const caret = input.selectionStart === null ? input.value.length : input.selectionStart;
    const before = input.value.slice(0, caret);
    const match = /(^|\s)([#@])([^\s#@]*)$/.exec(before);
    if (!match) return null;
    return { sign: match[2], word: match[3], start: caret - match[3].length - 1, end: caret };
  }

  // What a token may become: the labels or members holding its letters, those starting with
  // them first; a `#word` that is no label is offered as a new one.
  function suggestions(names, token) {
    const word = token.word.toLowerCase();
    const rank = function (text) { const at = text.toLowerCase().indexOf(word); return at === -1 ? -1 : (at === 0 ? 0 : 1); };
    let found;
    if (token.sign === "#") {
      found = names.labels.filter(function (l) { return rank(l.name) !== -1; })
        .sort(function (a, b) { return rank(a.name) - rank(b.name); })
        .map(function (l) { return { insert: "#" + l.name, words: l.name, colour: l.colour }; });
      const exact = names.labels.some(function (l) { return l.name.toLowerCase() === word; });
      if (word && !exact) found.push({ insert: "#" + token.word, words: "New label “" + token.word + "”, created with the task", create: true });
    } else {
      found = names.people.filter(function (p) { return rank(p.username) !== -1 || rank(p.display_name) !== -1; })
        .map(function (p) { return { insert: "@" + p.username, words: p.display_name === p.username ? p.username : p.display_name + " (" + p.username + ")" }; });
    }
    return found.slice(0, 8);
  }

  function completion(form) {
    const input = form.querySelector("#quick-line");
    const match = /^\/(?:p|t)\/([A-Z][A-Z0-9]*)/.exec(form.getAttribute("action") || "");
    if (!input || !match) return;
    const project = match[1];
    const list = document.createElement("ul");
    list.id = "quick-suggest";
    list.className = "suggest";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    input.parentElement.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", "quick-suggest");
    input.setAttribute("aria-expanded", "false");
    let shown = [];
    let active = -1;
    let token = null;

    function close() {
      list.hidden = true;
      list.replaceChildren();
      shown = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function mark(index) {
      active = index;
      Array.from(list.children).forEach(function (li, i) { li.setAttribute("aria-selected", String(i === index)); });
      if (index >= 0) input.setAttribute("aria-activedescendant", "quick-option-" + index);
      else input.removeAttribute("aria-activedescendant");
    }

    function accept(choice) {
      const value = input.value;
      const inserted = choice.insert + " ";
      input.value = value.slice(0, token.start) + inserted + value.slice(token.end).replace(/^\s+/, "");
      const caret = token.start + inserted.length;
      input.setSelectionRange(caret, caret);
      if (choice.create && !form.querySelector('input[name="create_labels"]')) {
        const flag = document.createElement("input");
        flag.type = "hidden";
        flag.name = "create_labels";
        flag.value = "yes";
        form.appendChild(flag);
      }
      announce((choice.create ? "The label " + choice.insert.slice(1) + " will be created with the task" : choice.insert + " added") + ".");
      close();
    }

    async function update() {
      token = tokenAt(input);
      if (!token) return close();
      const names = await namesOf(project);
      const now = tokenAt(input);
      if (!now || now.start !== token.start || now.word !== token.word) return;
      shown = suggestions(names, token);
      if (!shown.length) return close();
      list.replaceChildren.apply(list, shown.map(function (choice, i) {
        const li = document.createElement("li");
        li.id = "quick-option-" + i;
        li.setAttribute("role", "option");
        if (choice.colour) {
          const dot = document.createElement("span");
          dot.className = "dot c-" + choice.colour.replace("#", "").toLowerCase();
          dot.setAttribute("aria-hidden", "true");
          li.appendChild(dot);
        }
        li.appendChild(document.createTextNode(choice.words));
        li.addEventListener("mousedown", function (event) { event.preventDefault(); accept(choice); });
        return li;
      }));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      mark(0);
    }

    input.addEventListener("input", update);
    input.addEventListener("blur", function () { window.setTimeout(close, 100); });
    input.addEventListener("keydown", function (event) {
      if (list.hidden || !shown.length) return;
      switch (event.key) {
        case "ArrowDown": event.preventDefault(); mark((active + 1) % shown.length); return;
        case "ArrowUp": event.preventDefault(); mark((active - 1 + shown.length) % shown.length); return;
        case "Enter":
        case "Tab":
          if (active < 0) return;
          event.preventDefault();
          accept(shown[active]);
          return;
        case "Escape": event.preventDefault(); event.stopPropagation(); close(); return;
        default: return;
      }
    });
  }

  // A refused line in the page's address (`?quick=`, or `?subtask=` on a task page), as without
  // the script: a reload or a bookmark brings it back with what is wrong with it. Gone again
  // once a line is added.
  function lineInAddress(param, line) {
    const params = new URLSearchParams(location.search);
    if (line) params.set(param, line); else params.delete(param);
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }

  // Adds the task a quick-add line describes without leaving the page: the card (or row, or
  // subtask) appears where it belongs, the field empties and keeps the focus. A refused line comes back
  // in the field with why, and the offer to create labels it names.
  function addInPlace(form) {
    const subtasks = /\/subtasks$/.test(form.getAttribute("action") || "");
    if (!subtasks && !form.querySelector('input[name="back"][value="board"], input[name="back"][value="list"]')) return;
    const param = subtasks ? "subtask" : "quick";
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const input = form.querySelector("#quick-line");
      const data = event.submitter ? new FormData(form, event.submitter) : new FormData(form);
      const response = await postForFragment(form, data);
      const status = response ? response.status : 0;
      if (status === 201) {
        const key = response.headers.get("X-Task-Key") || "";
        // The line may have created labels: completion asks for the names afresh next time.
        const project = /^\/(?:p|t)\/([A-Z][A-Z0-9]*)/.exec(form.getAttribute("action") || "");
        if (project && data.get("create_labels")) delete known[project[1]];
        const item = nodes(await response.text()).firstElementChild;
        let where = "";
        if (item && item.classList.contains("card-item")) {
          const list = document.querySelector('.board ol.cards[data-status="' + CSS.escape(item.dataset.status) + '"]');
          if (!list) { location.reload(); return; }
          const empty = list.querySelector(".empty-column");
          if (empty) empty.remove();
          const card = document.importNode(item, true);
          list.insertBefore(card, list.querySelector(".more"));
          recount(list, 1);
          tabStops(list);
          card.classList.add("just-added");
          where = " to " + columnTitle(list);
        } else if (item && item.tagName === "LI" && subtasks) {
          const list = document.querySelector("ul.subtasks");
          if (!list) { location.reload(); return; }
          const none = document.getElementById("no-subtasks");
          if (none) none.remove();
          const sub = document.importNode(item, true);
          list.appendChild(sub);
          sub.classList.add("just-added");
          where = " as a subtask";
        } else if (item && item.tagName === "TR") {
          const body = document.querySelector("main table.tasks tbody");
          if (!body) { location.reload(); return; }
          const row = document.importNode(item, true);
          body.appendChild(row);
          row.classList.add("just-added");
        }
        lineInAddress(param, null);
        input.value = "";
        input.removeAttribute("aria-invalid");
        form.querySelectorAll("#quick-problems, .quick-offer, input[name='create_labels']").forEach(function (el) { el.remove(); });
        input.setAttribute("aria-describedby", "quick-help");
        input.focus();
        announce(key + " added" + where + ".");
        return;
      }
      if (status === 422) {
        const fresh = nodes(await response.text()).querySelector("form.quick");
        if (!fresh) return;
        form.replaceWith(fresh);
        completion(fresh);
        addInPlace(fresh);
        const field = fresh.querySelector("#quick-line");
        lineInAddress(param, field.value);
        field.focus();
        field.setSelectionRange(field.value.length, field.value.length);
        const problems = fresh.querySelector("#quick-problems");
        if (problems) announce(problems.textContent);
        return;
      }
      announce("Nothing was added. " + words(status, null));
    });
  }

  // ---- Time: the browser's zone for the server, and "2 h ago" for people ----

  // Tells the server this browser's time zone (a cookie), for a person who has not chosen one:
  // what "today" means on their cards, and the zone of the times pages show.
  function browserZone() {
    let zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (_) { zone = ""; }
    if (!/^[A-Za-z0-9_+\/-]{1,64}$/.test(zone)) return;
    const told = document.cookie.split("; ").find(function (c) { return c.indexOf("taskflow_tz=") === 0; });
    if (told !== "taskflow_tz=" + zone) {
      document.cookie = "taskflow_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  }

  // A recent time as people say it ("just now", "5 min ago", "2 h ago", "yesterday", "3 days
  // ago"); the exact time, in the person's zone as the server wrote it, stays on hover.
  function ago(element) {
    const at = Date.parse(element.getAttribute("datetime"));
    if (isNaN(at)) return;
    if (!element.dataset.exact) element.dataset.exact = element.textContent;
    const seconds = Math.round((Date.now() - at) / 1000);
    const minutes = Math.floor(seconds / 60);
    const hours = Math.floor(minutes / 60);
    const days = Math.floor(hours / 24);
    let said = null;
    if (seconds < -60) said = null;
    else if (seconds < 45) said = "just now";
    else if (minutes < 60) said = Math.max(1, minutes) + " min ago";
    else if (hours < 24) said = hours + " h ago";
    else if (days === 1) said = "yesterday";
    else if (days < 7) said = days + " days ago";
    element.textContent = said || element.dataset.exact;
    element.title = element.dataset.exact;
  }

  function agos() {
    document.querySelectorAll("time[data-ago]").forEach(ago);
  }

  // ---- Checklists in a task's description: editors tick items in place ----

  function checklists(box) {
    box.querySelectorAll("input[data-check]").forEach(function (input) {
      input.disabled = false;
      input.addEventListener("change", async function () {
        const body = new URLSearchParams({
          csrf: csrf(), index: input.dataset.check, checked: String(input.checked), version: box.dataset.version,
        });
        input.disabled = true;
        let response = null;
        try {
          response = await fetch(box.dataset.checks, {
            method: "POST", credentials: "same-origin", body: body,
            headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
          });
        } catch (_) { response = null; }
        input.disabled = false;
        if (response && response.ok) {
          const answer = await response.json();
          // The page's other forms and menus for this task carry the version they would change.
          taskVersion(answer.version);
          announce((input.checked ? "Ticked: " : "Unticked: ") + input.getAttribute("aria-label") + ".");
          return;
        }
        input.checked = !input.checked;
        const status = response ? response.status : 0;
        announce(status === 412
          ? "Someone else changed this task meanwhile, so that was not changed. Reload the page to see it as it is."
          : words(status, null));
      });
    });
  }

  // ---- Uploads on the task page ----

  function uploads(form) {
    const input = form.querySelector("input[type=file]");
    const bar = form.querySelector("progress");
    const said = form.querySelector(".upload-status");
    const limit = Number(form.dataset.limit || "0");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const file = input.files && input.files[0];
      if (!file) { said.textContent = "Choose a file first."; return; }
      const url = "/api/v1/tasks/" + encodeURIComponent(form.dataset.task) + "/attachments?name=" + encodeURIComponent(file.name);
      const request = new XMLHttpRequest();
      request.open("POST", url);
      request.setRequestHeader("X-CSRF-Token", csrf());
      request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      bar.hidden = false;
      bar.value = 0;
      said.textContent = "Uploading " + file.name + "…";
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round((e.loaded / e.total) * 100);
        bar.textContent = bar.value + " %";
      });
      request.addEventListener("load", function () {
        let body = null;
        try { body = JSON.parse(request.responseText); } catch (_) { body = null; }
        if (request.status === 201) {
          bar.value = 100;
          said.textContent = file.name + " is stored. Its SHA-256 is " + (body && body.sha256 ? body.sha256 : "shown in the list") + ".";
          form.dataset.uploaded = body && body.sha256 ? body.sha256 : "yes";
          window.setTimeout(function () { window.location.reload(); }, 600);
        } else {
          let text = words(request.status, body);
          if (request.status === 413 && limit > 0) text += " The limit is " + size(limit) + ".";
          said.textContent = file.name + " was not stored. " + text;
          said.classList.add("problem");
        }
      });
      request.addEventListener("error", function () {
        said.textContent = file.name + " was not stored. " + words(0, null);
        said.classList.add("problem");
      });
      request.send(file);
    });
  }

  function size(bytes) {
    if (bytes >= 1 << 30) return (bytes / (1 << 30)).toFixed(1) + " GiB";
    if (bytes >= 1 << 20) return (bytes / (1 << 20)).toFixed(1) + " MiB";
    return Math.round(bytes / 1024) + " KiB";
  }

  // ---- Keyboard shortcuts (the sheet: `?`, or /shortcuts) ----

  function typing(target) {
    if (!target || !target.closest) return false;
    return target.isContentEditable || target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  // The cards of the board, or the rows of a table of tasks, in reading order.
  function items() {
    const cards = Array.from(document.querySelectorAll(".board .card-item"));
    if (cards.length) return cards;
    return Array.from(document.querySelectorAll("main table.tasks tbody tr"));
  }

  function choose(item) {
    document.querySelectorAll(".chosen").forEach(function (el) { el.classList.remove("chosen"); });
    if (!item) return;
    item.classList.add("chosen");
    if (item.classList.contains("card-item")) {
      item.focus();
    } else {
      const link = item.querySelector("a");
      if (link) link.focus();
    }
    item.scrollIntoView({ block: "nearest" });
  }

  function chosen() {
    const active = document.activeElement;
    const current = active && active.closest ? active.closest(".card-item, main table.tasks tbody tr") : null;
    return current || document.querySelector(".chosen");
  }

  function project() {
    const board = document.querySelector(".board[data-project]");
    if (board) return board.dataset.project;
    const match = /^\/(?:p|t)\/([A-Z][A-Z0-9]*)/.exec(location.pathname);
    return match ? match[1] : null;
  }

  function shortcuts() {
    let pending = null;
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target) || event.target.closest("dialog[open], form.edit-menu")) return;
      const sheet = document.getElementById("shortcuts");
      if (sheet && sheet.open) return;
      const key = event.key;
      if (pending === "g") {
        pending = null;
        const where = { p: "/projects", b: project() && "/p/" + project(), l: project() && "/p/" + project() + "/list" }[key];
        if (where) { event.preventDefault(); location.assign(where); }
        return;
      }
      const list = items();
      const current = chosen();
      const index = current ? list.indexOf(current) : -1;
      switch (key) {
        case "?":
          if (sheet && sheet.showModal) { event.preventDefault(); sheet.showModal(); }
          return;
        case "/": {
          const search = document.getElementById("q");
          event.preventDefault();
          if (search) { search.focus(); search.select(); } else if (project()) { location.assign("/p/" + project() + "/list"); }
          return;
        }
        case "c": {
          const quick = document.getElementById("quick-line");
          if (quick) { event.preventDefault(); quick.focus(); }
          return;
        }
        case "j":
        case "k": {
          if (!list.length) return;
          event.preventDefault();
          const next = key === "j" ? Math.min(index + 1, list.length - 1) : Math.max(index - 1, 0);
          choose(list[index === -1 ? 0 : next]);
          return;
        }
        case "Enter": {
          if (!current || event.target.closest("a, button, summary")) return;
          const link = current.querySelector("a[href^='/t/']:not([data-edit-field])");
          if (link) { event.preventDefault(); location.assign(link.getAttribute("href")); }
          return;
        }
        case "e": {
          const link = current && current.querySelector("a[href^='/t/']:not([data-edit-field])");
          const task = link ? link.getAttribute("href") : (/^\/t\/[^/]+$/.test(location.pathname) ? location.pathname : null);
          if (task) { event.preventDefault(); location.assign(task + "/edit"); }
          return;
        }
        case "m": {
          const menu = current && current.querySelector("details.card-menu");
          if (menu) {
            event.preventDefault();
            menu.open = true;
            const select = menu.querySelector("select");
            if (select) select.focus();
          }
          return;
        }
        case "s":
        case "a":
        case "l":
        case "p":
        case "d": {
          const field = { s: "status", a: "assignees", l: "labels", p: "priority", d: "due" }[key];
          const item = current || document.getElementById("task-top");
          if (!item || !item.querySelector('a[data-edit-field="' + field + '"]')) return;
          event.preventDefault();
          openEditor(item, field, item);
          return;
        }
        case "g":
          pending = "g";
          window.setTimeout(function () { pending = null; }, 1500);
          return;
        default:
          return;
      }
    });
    const link = document.querySelector("a[data-shortcuts]");
    const sheet = document.getElementById("shortcuts");
    if (link && sheet && sheet.showModal) {
      link.addEventListener("click", function (event) { event.preventDefault(); sheet.showModal(); });
    }
  }

  browserZone();

  // ---- The sidebar: collapsed on a wide screen by its button (remembered), a drawer on a phone ----

  const COLLAPSED = "taskflow_sidebar";
  try {
    if (window.localStorage.getItem(COLLAPSED) === "collapsed") document.documentElement.classList.add("sidebar-collapsed");
  } catch (_) { /* storage may be off; the sidebar then starts open */ }

  function sidebar() {
    const button = document.querySelector(".menu-button");
    const side = document.getElementById("sidebar");
    if (!button || !side) return;
    const narrow = function () { return window.matchMedia("(max-width: 700px)").matches; };
    const root = document.documentElement;
    const said = function () {
      const open = narrow() ? side.classList.contains("open") : !root.classList.contains("sidebar-collapsed");
      button.setAttribute("aria-expanded", String(open));
      button.title = open ? "Hide the menu" : "Show the menu";
    };
    const close = function () {
      side.classList.remove("open");
      said();
      button.focus();
    };
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (narrow()) {
        side.classList.add("open");
        said();
        // Once it is drawn visible, the focus goes in (the current project, else the first link).
        const first = side.querySelector(".side-projects a[aria-current]") || side.querySelector(".side-links a");
        if (first) window.setTimeout(function () { first.focus(); }, 30);
        return;
      }
      const collapsed = root.classList.toggle("sidebar-collapsed");
      try { window.localStorage.setItem(COLLAPSED, collapsed ? "collapsed" : "open"); } catch (_) { /* not remembered */ }
      said();
    });
    const closer = side.querySelector(".sidebar-close");
    if (closer) closer.addEventListener("click", function (event) { event.preventDefault(); close(); });
    side.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && side.classList.contains("open")) { event.preventDefault(); close(); }
    });
    document.addEventListener("click", function (event) {
      if (side.classList.contains("open") && !side.contains(event.target) && !button.contains(event.target)) close();
    });
    window.matchMedia("(max-width: 700px)").addEventListener("change", said);
    said();
  }

  document.addEventListener("DOMContentLoaded", function () {
    agos();
    window.setInterval(agos, 60000);
    shortcuts();
    sidebar();
    cardMenus();
    editing();
    document.documentElement.classList.add("js");
    const anyBoard = document.querySelector(".board");
    if (anyBoard) {
      tabStops(anyBoard);
      arrows(anyBoard);
      document.body.addEventListener("htmx:afterSwap", function () { tabStops(anyBoard); });
    }
    const board = document.querySelector(".board[data-editable]");
    if (board) {
      dragging(board);
      keyboard(board);
    }
    document.querySelectorAll("form.upload[data-task]").forEach(uploads);
    document.querySelectorAll("form.quick").forEach(function (form) { completion(form); addInPlace(form); });
    document.querySelectorAll("[data-checks]").forEach(checklists);
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        const field = document.getElementById(button.dataset.copy);
        field.select();
        const done = function () { announce("Copied."); };
        if (navigator.clipboard) {
          navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  });
})();

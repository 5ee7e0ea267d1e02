// The playground page: sends what the visitor does to the server and swaps in the HTML it
// renders. No bot logic lives here; every section arrives already escaped and formatted.
"use strict";
(function () {
  const shown = {}; // section id -> the HTML the server last sent for it
  let busy = false;
  let epoch = 0; // bumped by every action, so a poll that started before it is dropped

  function carryOver(oldBox, html) {
    // Slack keeps what a person typed when a modal is updated in place (same view, same ids).
    const before = oldBox.querySelector("form.modal");
    const typed = {};
    if (before) {
      before.querySelectorAll("[data-input]").forEach(function (box) {
        typed[box.dataset.block + "\u0000" + box.dataset.action] = readInput(box);
      });
    }
    oldBox.innerHTML = html;
    const after = oldBox.querySelector("form.modal");
    if (!before || !after || before.dataset.view !== after.dataset.view) return;
    after.querySelectorAll("[data-input]").forEach(function (box) {
      const key = box.dataset.block + "\u0000" + box.dataset.action;
      if (key in typed) writeInput(box, typed[key]);
    });
  }

  function apply(data) {
    const sections = data.sections || {};
    Object.keys(sections).forEach(function (id) {
      const box = document.getElementById(id);
      const html = sections[id];
      if (!box || shown[id] === html) return;
      shown[id] = html;
      if (id.endsWith("-modal")) {
        carryOver(box, html);
      } else {
        box.innerHTML = html;
      }
      if (box.classList.contains("panel")) box.scrollTop = box.scrollHeight;
    });
  }

  function notify(person, text) {
    const box = document.getElementById((person || "clock") + "-notice");
    if (!box) return;
    if (!text) {
      box.hidden = true; // the last action went through: an old complaint no longer applies
      return;
    }
    box.textContent = text;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 8000);
  }

  async function post(url, body) {
    busy = true;
    epoch += 1;
    document.body.classList.add("busy");
    try {
      const answer = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await answer.json();
      if (data.sections) apply(data);
      notify(data.person || body.person, data.notice || data.error);
    } catch (error) {
      notify(body.person, "The playground did not answer: " + error);
    } finally {
      epoch += 1;
      busy = false;
      document.body.classList.remove("busy");
    }
  }

  async function poll() {
    if (busy || document.hidden) return;
    const started = epoch;
    try {
      const answer = await fetch("/api/state");
      const data = await answer.json();
      if (!busy && started === epoch) apply(data);
    } catch (error) {
      // The playground was stopped; the page keeps what it showed last.
    }
  }

  function readInput(box) {
    const kind = box.dataset.kind;
    if (kind === "checkboxes") {
      return Array.from(box.querySelectorAll("input:checked")).map(function (i) { return i.value; });
    }
    if (kind === "radio_buttons") {
      const chosen = box.querySelector("input:checked");
      return chosen ? chosen.value : null;
    }
    const field = box.querySelector("input, textarea, select");
    if (!field) return null;
    if (field.tagName === "SELECT" && field.multiple) {
      return Array.from(field.selectedOptions).map(function (o) { return o.value; });
    }
    return field.value;
  }

  function writeInput(box, value) {
    const kind = box.dataset.kind;
    if (kind === "checkboxes" || kind === "radio_buttons") {
      const wanted = [].concat(value === null ? [] : value);
      box.querySelectorAll("input").forEach(function (i) { i.checked = wanted.indexOf(i.value) >= 0; });
      return;
    }
    const field = box.querySelector("input, textarea, select");
    if (!field) return;
    if (field.tagName === "SELECT" && field.multiple) {
      Array.from(field.options).forEach(function (o) { o.selected = value.indexOf(o.value) >= 0; });
    } else {
      field.value = value === null ? "" : value;
    }
  }

  function personOf(element) {
    const column = element.closest(".person");
    return column ? column.id : "";
  }

  document.addEventListener("click", function (event) {
    const tab = event.target.closest(".tab");
    if (tab) {
      const column = tab.closest(".person");
      column.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("on", t === tab); });
      column.querySelectorAll(".panel").forEach(function (p) {
        p.classList.toggle("on", p.dataset.panel === tab.dataset.tab);
        if (p.dataset.panel === tab.dataset.tab) p.scrollTop = p.scrollHeight;
      });
      // Opening the Home tab is an event Slack sends to the app: app_home_opened.
      if (tab.dataset.tab === "home") post("/api/act", { person: column.id, kind: "home" });
      return;
    }
    const control = event.target.closest("[data-act]");
    if (!control || control.tagName === "FORM" || control.disabled) return;
    const person = personOf(control);
    const act = control.dataset.act;
    if (act === "jump") {
      post("/api/jump", {});
    } else if (act === "close") {
      const form = control.closest("form.modal");
      post("/api/act", { person: person, kind: "close", view_id: form.dataset.view });
    } else if (act === "click") {
      const surface = control.closest("[data-surface]");
      post("/api/act", {
        person: person,
        kind: "click",
        where: surface.dataset.surface,
        channel: surface.dataset.channel || null,
        ts: surface.dataset.ts || null,
        action_id: control.dataset.action,
        value: control.dataset.value,
      });
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    event.preventDefault();
    const person = personOf(form);
    if (form.classList.contains("modal")) {
      const values = {};
      form.querySelectorAll("[data-input]").forEach(function (box) {
        values[box.dataset.block] = values[box.dataset.block] || {};
        values[box.dataset.block][box.dataset.action] = readInput(box);
      });
      post("/api/act", { person: person, kind: "submit", view_id: form.dataset.view, values: values });
    } else if (form.classList.contains("composer")) {
      const field = form.querySelector("input[name=text]");
      const text = field.value;
      field.value = "";
      if (text.trim()) post("/api/act", { person: person, kind: "say", text: text });
    }
  });

  poll();
  setInterval(poll, 1000);
})();

/*! dialerd callback widget (docs/widget.md). Served by dialerd as /widget.js.
 *
 * <script src="https://dialerd.example.com/widget.js" data-site="shop"
 *         data-endpoint="/callback" async></script>
 *
 * data-site      the site's key in dialerd ([[click_to_call.sites]] key)
 * data-endpoint  the site's own backend route (same origin as the page) that
 *                signs the request and forwards it to dialerd
 * data-dialerd   dialerd's public URL (default: where this script came from)
 * data-group     an agent group to check availability of (default: any)
 * data-lang      en or ru (default: the page's <html lang>)
 * data-label     the button's text
 *
 * Plain DOM in a shadow root (the page's styles cannot reach in, ours cannot
 * leak out); no third-party code, fonts or images; no cookies or storage:
 * the browser keeps only the status token of its own request, in memory.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var opt = {
    site: script.getAttribute("data-site") || "",
    endpoint: script.getAttribute("data-endpoint") || "",
    dialerd: (script.getAttribute("data-dialerd") || new URL(script.src, location.href).origin).replace(/\/+$/, ""),
    group: script.getAttribute("data-group") || "",
    lang: (script.getAttribute("data-lang") || document.documentElement.lang || "en").slice(0, 2).toLowerCase(),
    label: script.getAttribute("data-label") || "",
  };
  if (!opt.site || !opt.endpoint) {
    console.error("dialerd widget: data-site and data-endpoint are required");
    return;
  }
  var POLL_MS = 1000;

  var TEXT = {
    en: {
      button: "Call me back", title: "We will call you", close: "Close", loading: "Loading…",
      name: "Your name", phone: "Phone number", at: "Preferred time",
      now: "Call me now", later: "Request a callback",
      intro: "Leave your number and an agent will call you right away.",
      offline_busy: "All our agents are busy right now. Tell us when to call you back.",
      offline_closed: "We are closed now. We open {time}. Tell us when to call you back.",
      unavailable: "The callback service is unavailable. Please try again later.",
      required: "Please fill this in.", future: "Choose a time in the future.",
      failed_send: "Your request could not be sent. Please try again.",
      phase_new: "New", phase_processing: "In progress", phase_finished: "Finished",
      status: "Status",
      scheduled: "Thank you! We will call you {time}.",
      requested: "Request received. Finding an agent…",
      agent_ringing: "Finding an agent…",
      agent_answered: "An agent is ready for you.",
      customer_ringing: "Calling you now. Please answer your phone.",
      connected: "You are connected.",
      completed: "The call has ended. Thank you!",
      failed: "Sorry, we could not connect the call.",
      lost: "We cannot show this request's status any more.",
      again: "New request",
    },
    ru: {
      button: "Перезвоните мне", title: "Мы вам перезвоним", close: "Закрыть", loading: "Загрузка…",
      name: "Ваше имя", phone: "Номер телефона", at: "Удобное время",
      now: "Позвоните мне сейчас", later: "Заказать обратный звонок",
      intro: "Оставьте номер, и оператор сразу вам позвонит.",
      offline_busy: "Все операторы сейчас заняты. Укажите, когда вам перезвонить.",
      offline_closed: "Сейчас мы не работаем. Откроемся {time}. Укажите, когда вам перезвонить.",
      unavailable: "Сервис обратного звонка недоступен. Попробуйте позже.",
      required: "Заполните это поле.", future: "Выберите время в будущем.",
      failed_send: "Не удалось отправить заявку. Попробуйте ещё раз.",
      phase_new: "Новая", phase_processing: "В работе", phase_finished: "Завершена",
      status: "Статус",
      scheduled: "Спасибо! Мы позвоним вам {time}.",
      requested: "Заявка принята. Ищем оператора…",
      agent_ringing: "Ищем оператора…",
      agent_answered: "Оператор готов к разговору.",
      customer_ringing: "Звоним вам. Пожалуйста, ответьте на звонок.",
      connected: "Вы на связи с оператором.",
      completed: "Разговор завершён. Спасибо!",
      failed: "К сожалению, соединить не удалось.",
      lost: "Статус этой заявки больше недоступен.",
      again: "Новая заявка",
    },
  };
  var t = TEXT[opt.lang] || TEXT.en;

  var CSS =
    ":host{all:initial}" +
    "*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;" +
    "padding:12px 20px;background:var(--dlw-accent,#0b6bcb);color:#fff;font-weight:600;cursor:pointer;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.25)}" +
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:320px;max-width:calc(100vw - 40px);" +
    "max-height:calc(100vh - 96px);overflow:auto;" +
    "background:#fff;color:#1d1d1f;border-radius:12px;padding:16px;box-shadow:0 4px 24px rgba(0,0,0,.3)}" +
    ".panel[hidden],[hidden]{display:none}" +
    "header{display:flex;justify-content:space-between;align-items:center;margin-bottom:8px}" +
    "h2{margin:0;font-size:16px;font-weight:700}" +
    ".x{border:0;background:none;font-size:20px;line-height:1;cursor:pointer;color:#555;padding:4px}" +
    "p{margin:0 0 10px}" +
    "label{display:block;margin:8px 0 2px;font-weight:600}" +
    "input{display:block;width:100%;padding:8px;border:1px solid #8a8a8e;border-radius:6px;background:#fff;color:#1d1d1f}" +
    "input[aria-invalid=true]{border-color:#c62828;outline:1px solid #c62828}" +
    ".error{color:#c62828;min-height:1em;margin:8px 0 0}" +
    ".send{margin-top:12px;width:100%;border:0;border-radius:6px;padding:10px;cursor:pointer;" +
    "background:var(--dlw-accent,#0b6bcb);color:#fff;font-weight:600}" +
    ".send[disabled]{opacity:.6;cursor:wait}" +
    ".phase{font-weight:700}.detail{color:#555;font-size:12px}" +
    "button:focus-visible,input:focus-visible{outline:2px solid var(--dlw-accent,#0b6bcb);outline-offset:2px}";

  // Elements by id inside the shadow root.
  var host = document.createElement("div");
  host.id = "dialerd-widget";
  host.setAttribute("data-site", opt.site);
  var root = host.attachShadow({ mode: "open" });
  try {
    // Constructed sheets are not inline styles: a strict CSP allows them.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    var style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }
  if (script.getAttribute("data-color")) host.style.setProperty("--dlw-accent", script.getAttribute("data-color"));

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function $(id) {
    return root.getElementById(id);
  }

  var launch = el("button", { id: "open", class: "launch", type: "button", "aria-expanded": "false", "aria-controls": "panel" },
    opt.label || t.button);
  var panel = el("section", { id: "panel", class: "panel", role: "dialog", "aria-labelledby": "title", hidden: "" });
  var head = el("header");
  head.appendChild(el("h2", { id: "title" }, t.title));
  var closeBtn = el("button", { id: "close", class: "x", type: "button", "aria-label": t.close }, "×");
  head.appendChild(closeBtn);
  panel.appendChild(head);
  var body = el("div", { id: "body" });
  panel.appendChild(body);
  root.appendChild(launch);
  root.appendChild(panel);

  var state = { poll: null, finished: true };

  function humanize(field) {
    var s = field.replace(/[_.-]+/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }
  // The value a datetime-local input takes: the visitor's local time.
  function localInput(d) {
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + "T" + two(d.getHours()) + ":" + two(d.getMinutes());
  }
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleString(opt.lang, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function open() {
    panel.hidden = false;
    launch.setAttribute("aria-expanded", "true");
    if (state.finished) loadForm();
  }
  function close() {
    panel.hidden = true;
    launch.setAttribute("aria-expanded", "false");
    launch.focus();
  }
  launch.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") close();
  });

  function show(node) {
    body.textContent = "";
    body.appendChild(node);
  }

  function loadForm() {
    show(el("p", { id: "loading" }, t.loading));
    fetch(opt.dialerd + "/v1/click-to-call/sites/" + encodeURIComponent(opt.site), { credentials: "omit", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (site) {
        var available = site.agent_available;
        if (opt.group) {
          var g = (site.groups || []).filter(function (x) { return x.id === opt.group; })[0];
          available = !!(g && g.agent_available);
        }
        renderForm(site, site.open && available ? "online" : "offline");
      })
      .catch(function () {
        show(el("p", { id: "error", class: "error", role: "alert" }, t.unavailable));
      });
  }

  function renderForm(site, mode, keep) {
    var form = el("form", { id: "form", "data-mode": mode, novalidate: "" });
    var notice = mode === "online" ? t.intro
      : !site.open && site.next_open ? t.offline_closed.replace("{time}", when(site.next_open))
      : t.offline_busy;
    form.appendChild(el("p", { id: "notice" }, notice));
    function input(id, label, attrs) {
      form.appendChild(el("label", { for: id }, label));
      var i = el("input", attrs);
      i.id = id;
      if (keep && keep[id] !== undefined) i.value = keep[id];
      form.appendChild(i);
      return i;
    }
    input("name", t.name, { name: "name", autocomplete: "name", maxlength: "100", required: "" });
    input("phone", t.phone, { name: "phone", type: "tel", autocomplete: "tel", maxlength: "40", required: "" });
    (site.fields || []).forEach(function (f) {
      input("field-" + f, humanize(f), { name: f, "data-field": f, maxlength: "200" });
    });
    if (mode === "offline") {
      var now = new Date();
      var max = new Date(now.getTime() + (site.max_days_ahead || 30) * 86400000);
      // The next opening if closed, else half an hour from now.
      var first = !site.open && site.next_open ? new Date(site.next_open) : new Date(now.getTime() + 30 * 60000);
      if (isNaN(first) || first <= now) first = new Date(now.getTime() + 30 * 60000);
      var at = input("at", t.at, { type: "datetime-local", min: localInput(now), max: localInput(max), required: "" });
      if (!at.value) at.value = localInput(first);
    }
    form.appendChild(el("p", { id: "error", class: "error", role: "alert" }));
    form.appendChild(el("button", { id: "submit", class: "send", type: "submit" }, mode === "online" ? t.now : t.later));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      submit(site, form, mode);
    });
    show(form);
    $("name").focus();
  }

  function fieldError(form, field, message) {
    var input = null;
    if (field) {
      var name = field.replace(/^(visitor|fields)\./, "");
      input = $(name) || $("field-" + name) || (field === "visitor" ? $("name") : null);
    }
    form.querySelectorAll("input").forEach(function (i) { i.removeAttribute("aria-invalid"); });
    var err = $("error");
    err.textContent = message;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "error");
      err.setAttribute("data-field", input.id);
      input.focus();
    } else {
      err.removeAttribute("data-field");
    }
  }

  function submit(site, form, mode) {
    var name = $("name").value.trim();
    var phone = $("phone").value.trim();
    if (!name) return fieldError(form, "name", t.required);
    if (!phone) return fieldError(form, "phone", t.required);
    var payload = { name: name, phone: phone, page: location.pathname, fields: {} };
    form.querySelectorAll("input[data-field]").forEach(function (i) {
      if (i.value.trim()) payload.fields[i.getAttribute("data-field")] = i.value.trim();
    });
    if (mode === "offline") {
      var at = new Date($("at").value);
      if (isNaN(at) || at <= new Date()) return fieldError(form, "at", t.future);
      payload.at = at.toISOString();
    }
    var button = $("submit");
    button.disabled = true;
    fetch(opt.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    })
      .then(function (r) {
        return r.json().then(function (j) { return { status: r.status, body: j }; }, function () { return { status: r.status, body: {} }; });
      })
      .then(function (res) {
        button.disabled = false;
        if (res.status === 201 && res.body.id && res.body.status_token) return started(res.body);
        var e = res.body && res.body.error;
        if (res.status === 409 && mode === "online") {
          // Nobody free after all: the same visitor, the offline form.
          var keep = {};
          form.querySelectorAll("input").forEach(function (i) { keep[i.id] = i.value; });
          site.agent_available = false;
          return renderForm(site, "offline", keep);
        }
        fieldError(form, e && e.field, (e && e.message) || t.failed_send);
      })
      .catch(function () {
        button.disabled = false;
        fieldError(form, null, t.failed_send);
      });
  }

  function started(created) {
    var box = el("div", { id: "status", "aria-live": "polite", "data-request": created.id });
    box.appendChild(el("p", { id: "status-phase", class: "phase" }));
    box.appendChild(el("p", { id: "status-text" }));
    var detail = el("p", { class: "detail" }, t.status + ": ");
    detail.appendChild(el("span", { id: "status-detail" }));
    box.appendChild(detail);
    show(box);
    state.finished = false;
    update(created);
    if (created.status === "scheduled") {
      // Hours or days away: no point polling; the call will come.
      state.finished = true;
      return;
    }
    poll(created.id, created.status_token, 0);
  }

  function update(v) {
    var box = $("status");
    if (!box) return;
    var phase = v.phase || (v.status === "scheduled" || v.status === "requested" ? "new" : "processing");
    box.setAttribute("data-phase", phase);
    box.setAttribute("data-status", v.status);
    if (v.cause) box.setAttribute("data-cause", v.cause);
    $("status-phase").textContent = t["phase_" + phase] || phase;
    var text = t[v.status] || v.status;
    $("status-text").textContent = text.replace("{time}", when(v.due_at || ""));
    $("status-detail").textContent = v.status + (v.cause && v.status === "failed" ? " (" + v.cause + ")" : "");
    if (phase === "finished") {
      state.finished = true;
      var again = el("button", { id: "again", class: "send", type: "button" }, t.again);
      again.addEventListener("click", loadForm);
      box.appendChild(again);
    }
  }

  function poll(id, token, failures) {
    clearTimeout(state.poll);
    state.poll = setTimeout(function () {
      fetch(opt.dialerd + "/v1/click-to-call/" + encodeURIComponent(id), {
        credentials: "omit",
        cache: "no-store",
        headers: { "Dialerd-Status-Token": token },
      })
        .then(function (r) {
          if (r.status === 401 || r.status === 404 || r.status === 410) {
            state.finished = true;
            $("status-text").textContent = t.lost;
            return;
          }
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json().then(function (v) {
            update(v);
            if (v.phase !== "finished") poll(id, token, 0);
          });
        })
        .catch(function () {
          // A network blip: keep trying, slower, for a few minutes.
          if (failures < 60) poll(id, token, failures + 1);
        });
    }, POLL_MS * (1 + Math.min(failures, 4)));
  }

  function mount() {
    document.body.appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();

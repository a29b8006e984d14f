/* descend explorer, in the browser: exact click positions on the contour, throttled
   values of a slider being dragged, the controls a view ignores (disabled, with the
   reason as a tooltip), and names for screen readers on the widgets whose focusable
   element is not the one a <label for> points at. */
(function () {
  "use strict";

  /* A click anywhere in the contour's plot area (where the function is drawn or not)
     sets the start at the exact coordinates under the pointer (pixels through the
     axes' p2d), not a grid point. A drag (zoom) is not a click. */
  function hook(gd) {
    if (!gd || gd.__descendHooked) { return; }
    gd.__descendHooked = true;
    var down = null;
    gd.addEventListener("mousedown", function (ev) { down = [ev.clientX, ev.clientY]; }, true);
    gd.addEventListener("click", function (ev) {
      var area = gd.querySelector(".nsewdrag");
      var full = gd._fullLayout;
      if (!area || !full || !full.xaxis || !full.yaxis) { return; }
      if (down && Math.hypot(ev.clientX - down[0], ev.clientY - down[1]) > 4) { return; }
      var box = area.getBoundingClientRect();
      var px = ev.clientX - box.left, py = ev.clientY - box.top;
      if (px < 0 || py < 0 || px > box.width || py > box.height) { return; }
      var x = full.xaxis.p2d(px);
      var y = full.yaxis.p2d(py);
      if (!isFinite(x) || !isFinite(y)) { return; }
      window.dash_clientside.set_props("click", {data: {x: x, y: y, t: Date.now()}});
    }, true);
  }

  document.addEventListener("mousedown", function (e) {
    var host = e.target && e.target.closest && e.target.closest("#contour");
    if (host) { hook(host.querySelector(".js-plotly-plot")); }
  }, true);

  /* A dragged slider's value, at most every 120 ms (the release sends the last one);
     only while a pointer is down on it (the server setting a value moves it too). */
  var last = {};
  var dragging = null;
  document.addEventListener("pointerdown", function (e) {
    var host = e.target && e.target.closest &&
      e.target.closest("#lr-slider, #beta, #b1, #b2");
    dragging = host ? host.id : null;
  }, true);
  document.addEventListener("pointerup", function () { dragging = null; }, true);
  function throttle() {
    var dc = window.dash_clientside;
    var trig = dc.callback_context.triggered;
    if (!trig || !trig.length) { return dc.no_update; }
    if (trig[0].prop_id.split(".")[0] !== dragging) { return dc.no_update; }
    var id = trig[0].prop_id.split(".")[0];
    var now = Date.now();
    if (last[id] && now - last[id] < 120) { return dc.no_update; }
    last[id] = now;
    return {id: id, value: trig[0].value, t: now};
  }

  /* The controls a view ignores: disabled, and the reason in the box's title. */
  function applyUi(ui, toggled, views, options) {
    var why = (ui && ui.controls) || {};
    var tabs = (ui && ui.tabs) || {};
    var out = [];
    toggled.forEach(function (c) {
      var off = !!why[c];
      if (options[c]) {
        out.push(options[c].map(function (o) {
          return {label: o.label, value: o.value, disabled: off};
        }));
      } else {
        out.push(off);
      }
    });
    toggled.forEach(function (c) {
      if (c !== "random") { out.push(why[c] ? "disabled: " + why[c] : ""); }
    });
    views.forEach(function (v) {
      out.push(!!tabs[v]);
      var el = document.getElementById("tab-" + v);
      if (el) {
        el.title = tabs[v] ? "disabled: " + tabs[v] : "";
        el.setAttribute("aria-disabled", tabs[v] ? "true" : "false");
      }
    });
    label();
    return out;
  }

  /* <label for=id> names the widget's own focusable element for screen readers: a
     dropdown's button (label first, then its value), a slider's thumb, an input inside
     a box; a list of radio buttons or checkboxes is named as a group. */
  function label() {
    document.querySelectorAll("label[for]").forEach(function (lab) {
      var host = document.getElementById(lab.htmlFor);
      if (!host) { return; }
      var name = lab.textContent.trim();
      if (!lab.id) { lab.id = lab.htmlFor + "-label"; }
      var box = document.getElementById(lab.htmlFor + "-box");
      if (box && box.title) { host.setAttribute("aria-description", box.title); }
      else { host.removeAttribute("aria-description"); }
      if (host.getAttribute("aria-haspopup") === "listbox") {
        var ids = (host.getAttribute("aria-labelledby") || "").split(" ").filter(
          function (x) { return x && x !== lab.id; });
        host.setAttribute("aria-labelledby", [lab.id].concat(ids).join(" "));
        return;
      }
      if (host.getAttribute("role") === "listbox" ||
          host.querySelector("input[type=radio], input[type=checkbox]")) {
        host.setAttribute("aria-label", name);
        return;
      }
      if (host.matches("input, select, textarea, button")) { return; }
      host.querySelectorAll("[role=slider], input, textarea").forEach(function (el) {
        if (!el.getAttribute("aria-label")) { el.setAttribute("aria-label", name); }
      });
    });
  }

  var pending = null;
  new MutationObserver(function () {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; label(); }, 200);
  }).observe(document.documentElement, {childList: true, subtree: true});

  window.descendExplorer = {hook: hook, throttle: throttle, applyUi: applyUi, label: label};
}());

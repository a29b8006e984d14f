/* descend explorer, in the browser: exact click positions on the contour, and the
   animation of a Run from the path the server sent once (no request per frame). */
(function () {
  "use strict";

  function plotOf(id) {
    return document.querySelector("#" + id + " .js-plotly-plot");
  }

  /* A click anywhere in the contour's plot area sets the start at the exact
     coordinates under the pointer (pixels through the axes' p2d), not a grid point. */
  function hook(gd) {
    if (!gd || gd.__descendHooked || !gd.on) { return; }
    gd.__descendHooked = true;
    gd.on("plotly_click", function (data) {
      var ev = data && data.event;
      var area = gd.querySelector(".nsewdrag");
      var full = gd._fullLayout;
      if (!ev || !area || !full || !full.xaxis || !full.yaxis) { return; }
      var box = area.getBoundingClientRect();
      var x = full.xaxis.p2d(ev.clientX - box.left);
      var y = full.yaxis.p2d(ev.clientY - box.top);
      if (!isFinite(x) || !isFinite(y)) { return; }
      window.dash_clientside.set_props("click", {data: {x: x, y: y, t: Date.now()}});
    });
  }

  document.addEventListener("mousedown", function (e) {
    var host = e.target && e.target.closest && e.target.closest("#contour");
    if (host) { hook(host.querySelector(".js-plotly-plot")); }
  }, true);

  function slice(seq, a, b) { return seq ? seq.slice(a, b) : null; }

  /* Tick n of anim.frames: extend each path trace to its share of the whole path. */
  function animate(n, anim) {
    if (!anim || !anim.traces) { return true; }
    var gd = plotOf(anim.graph);
    if (!gd || !gd.data || !window.Plotly) { return n > anim.frames + 40; }
    var update = {x: [], y: []};
    if (anim.z) { update.z = []; }
    var frames = Math.max(1, anim.frames);
    var k = Math.min(n, frames);
    anim.traces.forEach(function (t, j) {
      var total = anim.x[j].length;
      var have = gd.data[t] && gd.data[t].x ? gd.data[t].x.length : total;
      var want = Math.max(have, Math.round(1 + (total - 1) * k / frames));
      update.x.push(slice(anim.x[j], have, want));
      update.y.push(slice(anim.y[j], have, want));
      if (anim.z) { update.z.push(slice(anim.z[j], have, want)); }
    });
    try {
      window.Plotly.extendTraces(gd, update, anim.traces);
    } catch (err) {
      return true;  /* the figure changed under us: stop */
    }
    return k >= frames;
  }

  window.descendExplorer = {animate: animate, hook: hook};
}());

// The shop's only script, and the pages work without it. It adds three things:
// - the order page follows the checkout saga: it asks for the status block once a second and
//   swaps it in, until the saga has settled the order or two minutes have passed;
// - a form marked data-once cannot be sent twice by a double click (the idempotency key
//   already makes a second checkout harmless; this keeps the page calm);
// - a sort menu marked data-autosubmit applies as soon as it changes.
(function () {
  "use strict";
  var POLL_MS = 1000, POLL_FOR_MS = 120000;

  function follow(block) {
    var url = block.getAttribute("data-status-url"), started = Date.now();
    var last = block.querySelector("[data-status]").getAttribute("data-status");
    function tick() {
      var current = document.getElementById("order-status");
      if (!current || current.getAttribute("data-final") === "true" || Date.now() - started > POLL_FOR_MS) return;
      fetch(url, { headers: { accept: "text/html" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html) {
            var holder = document.createElement("div");
            holder.innerHTML = html;
            var fresh = holder.querySelector("#order-status");
            var now = fresh && fresh.querySelector("[data-status]").getAttribute("data-status");
            if (fresh && now !== last) { current.replaceWith(fresh); wire(fresh); last = now; }
          }
          setTimeout(tick, POLL_MS);
        })
        .catch(function () { setTimeout(tick, POLL_MS * 3); });
    }
    setTimeout(tick, POLL_MS);
  }

  function wire(root) {
    root.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent) { event.preventDefault(); return; }
        form.dataset.sent = "yes";
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    var block = document.getElementById("order-status");
    if (block) follow(block);
  });
})();

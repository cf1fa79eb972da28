// Hovering or focusing a bar, a mark or a lane shows what it is: job id, slug, attempt, times.
(function () {
  "use strict";
  var tip = document.getElementById("tip");
  function show(target, x, y) {
    var owner = target.closest ? target.closest("[data-tip]") : null;
    if (!owner) { tip.hidden = true; return; }
    tip.textContent = owner.getAttribute("data-tip");
    tip.hidden = false;
    var left = Math.min(x + 14, window.innerWidth - tip.offsetWidth - 8);
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = Math.max(4, y + 14) + "px";
  }
  document.addEventListener("mouseover", function (event) { show(event.target, event.clientX, event.clientY); });
  document.addEventListener("mousemove", function (event) {
    if (!tip.hidden) { show(event.target, event.clientX, event.clientY); }
  });
  document.addEventListener("focusin", function (event) {
    var box = event.target.getBoundingClientRect ? event.target.getBoundingClientRect() : null;
    if (box) { show(event.target, box.left + 180, box.top); }
  });
  document.addEventListener("focusout", function () { tip.hidden = true; });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") { tip.hidden = true; } });
})();

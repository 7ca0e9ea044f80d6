// zenpro console: progressive enhancement only; every page works without it.
// Times in the browser's own zone, and a Copy button beside each secret or setting.
"use strict";
(function () {
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    el.title = el.textContent;
    el.textContent = format.format(when);
    el.setAttribute("data-local", "");
  });
  if (!navigator.clipboard) { return; }
  document.querySelectorAll("pre.secret").forEach(function (pre) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent.trim()).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Select the text and copy it";
      });
    });
    pre.insertAdjacentElement("afterend", button);
  });
})();

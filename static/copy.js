/* Copy buttons: <button data-copy-target="ID" data-copied="…" data-failed="…"> copies the value
   (or text) of element #ID to the clipboard and says so in #copy-status (or the element named
   by data-copy-status). The Clipboard API needs a secure context (HTTPS or localhost); on a
   plain-HTTP office address the selected text is copied with execCommand instead. No inline
   script: the page loads this file (CSP). */
(function () {
  "use strict";

  function say(button, key) {
    var status = document.getElementById(button.getAttribute("data-copy-status") || "copy-status");
    if (status) {
      status.textContent = button.getAttribute(key) || "";
    }
  }

  function copyBySelection(field) {
    var text = "value" in field ? field.value : field.textContent;
    var ok = false;
    if ("select" in field) {
      field.focus();
      field.select();
      if (field.setSelectionRange) {
        field.setSelectionRange(0, text.length);
      }
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
    }
    return ok;
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) {
      return;
    }
    var text = "value" in field ? field.value : field.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say(button, "data-copied");
      }, function () {
        say(button, copyBySelection(field) ? "data-copied" : "data-failed");
      });
      return;
    }
    say(button, copyBySelection(field) ? "data-copied" : "data-failed");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (button) {
      event.preventDefault();
      copy(button);
    }
  });
})();

/* Check-in without a full reload (the console's /manage/events/<id>/check-in).
 *
 * Progressive enhancement: every row is a plain form that works without this script. With it,
 * a tap posts the same form with fetch(), asking for JSON, and the answer's new row replaces
 * the old one in place; the count and a polite live region say what changed, and focus moves
 * to the new row's button (its undo). Anything unexpected (a page instead of JSON, a network
 * failure) submits the form the ordinary way, so the organiser sees what the server says.
 * No build step and no inline script: the Content-Security-Policy allows only this file.
 */
(function () {
  "use strict";

  var list = document.querySelector("[data-check-in-list]");
  if (!list || !window.fetch || !window.FormData) {
    return;
  }
  var count = document.getElementById("check-in-count");
  var news = document.getElementById("check-in-news");

  function say(text) {
    if (news) {
      // Emptied first, so that the same words twice are announced twice.
      news.textContent = "";
      window.setTimeout(function () { news.textContent = text; }, 50);
    }
  }

  function showCounts(attended, confirmed) {
    var figures = count ? count.querySelectorAll("strong") : [];
    if (figures.length === 2) {
      figures[0].textContent = String(attended);
      figures[1].textContent = String(confirmed);
    }
  }

  function replaceRow(row, html) {
    var holder = document.createElement("ul");
    holder.innerHTML = html.trim();
    var fresh = holder.firstElementChild;
    row.replaceWith(fresh);
    var button = fresh.querySelector("button");
    if (button) {
      button.focus();
    }
    return fresh;
  }

  list.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-check-in")) {
      return;
    }
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") {
      return;  // a second tap while the first is on its way
    }
    form.setAttribute("aria-busy", "true");
    var token = form.querySelector("input[name=csrf_token]");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "X-CSRFToken": token ? token.value : ""
      }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        throw new Error("not an answer for this script");
      }
      return response.json().then(function (data) {
        return { ok: response.ok, data: data };
      });
    }).then(function (answer) {
      form.removeAttribute("aria-busy");
      if (!answer.ok) {
        say(answer.data.error || "That did not work. Please try again.");
        return;
      }
      var row = form.closest("li");
      replaceRow(row, answer.data.row);
      showCounts(answer.data.attended_count, answer.data.confirmed_count);
      say(answer.data.message);
    }).catch(function () {
      form.removeAttribute("aria-busy");
      form.submit();
    });
  });
})();

// Progressive enhancement of the hub's pages. Every page works without this file.
import { initAll } from "../vendor/govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// Print buttons (the accounting of disclosures): hidden without JavaScript,
// where the browser's own print command does the same.
for (const button of document.querySelectorAll("[data-hub-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

// Session timeout warning (WCAG 2.2.1). The page states when the session ends;
// here a banner appears `data-warning-seconds` before that and its button
// extends the session without leaving the page, so nothing typed is lost.
const session = document.querySelector("[data-hub-session-expires-at]");
if (session) {
  const banner = document.getElementById("hub-session-warning");
  const ended = document.getElementById("hub-session-ended");
  const form = banner && banner.querySelector("form");
  const warningMs = Number(session.dataset.warningSeconds) * 1000;
  let expiresAt = Date.parse(session.dataset.hubSessionExpiresAt);
  let timers = [];

  const schedule = () => {
    timers.forEach(clearTimeout);
    const now = Date.now();
    timers = [
      setTimeout(() => { banner.hidden = false; }, Math.max(0, expiresAt - warningMs - now)),
      setTimeout(() => { banner.hidden = true; ended.hidden = false; }, Math.max(0, expiresAt - now)),
    ];
  };

  if (banner && ended && form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        const body = await response.json();
        expiresAt = Date.parse(body.expires_at);
        for (const time of document.querySelectorAll("[data-hub-session-end-time]")) {
          time.textContent = body.expires_at_display;
        }
        banner.hidden = true;
        schedule();
      } else {
        banner.hidden = true;
        ended.hidden = false;
      }
    });
    schedule();
  }
}

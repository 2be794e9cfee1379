// GOV.UK Frontend's "supported" flag, set before the page renders (their page
// template does this with an inline script, which our CSP forbids). The class
// goes on <html> here, since <body> does not exist yet; hub.mjs copies it to
// <body>, where GOV.UK Frontend's initAll() looks for it.
document.documentElement.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");

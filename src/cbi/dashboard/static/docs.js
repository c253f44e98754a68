// /docs: Swagger UI from the installed swagger-ui-bundle package, over this app's /openapi.json.
// No inline script (the CSP forbids it) and no validator badge (it would call out).
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});

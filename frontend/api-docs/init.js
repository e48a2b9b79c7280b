// The interactive API reference over this server's own OpenAPI document. "Try it out"
// sends requests to this server; "Authorize" takes an API token (`ncompass token
// create`) for the bearer scheme, and a signed-in dashboard session's cookie goes along
// by itself. validatorUrl: null keeps Swagger UI from calling validator.swagger.io.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
});

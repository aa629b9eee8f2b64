// A service worker a tenant registers (TenantIsolationTests): another tenant must not see its registration.
self.addEventListener("fetch", () => {});

// Builds the console into dist/ (served by `mailmoat serve`, [api] console_dir). The output has no
// inline script or style, so the API server's CSP (script-src 'self'; style-src 'self') holds.
import { defineConfig } from "vite";

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    // `npm run dev` against a local `mailmoat serve` (API on the default https://127.0.0.1:8443).
    proxy: { "/api": { target: "https://127.0.0.1:8443", secure: false, changeOrigin: false } },
  },
});

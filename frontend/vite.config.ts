import { defineConfig } from "vite";

// Preact via the automatic JSX runtime; no plugin needed. The build lands in dist/,
// which the backend serves at / (SPA fallback); the dev server proxies the API.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/dicomweb": "http://127.0.0.1:8080" },
  },
});

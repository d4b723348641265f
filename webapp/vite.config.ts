/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

// In development the Danube server runs elsewhere (DANUBE_DEV_SERVER, default
// http://127.0.0.1:8080); `npm run dev` proxies the API paths to it so the
// session cookie stays same-origin.
const backend = process.env.DANUBE_DEV_SERVER ?? "http://127.0.0.1:8080";
const proxied = ["/graphql", "/api", "/auth", "/health", "/metrics"];

export default defineConfig({
  plugins: [solid()],
  server: {
    proxy: Object.fromEntries(
      proxied.map((path) => [path, { target: backend, changeOrigin: false, ws: path === "/graphql" }]),
    ),
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    // The machines are shared: a jsdom render can be slow, never wrong.
    testTimeout: 20_000,
    server: { deps: { inline: [/solid-js/, /@solidjs\/router/] } },
  },
  resolve: {
    conditions: ["development", "browser"],
  },
});

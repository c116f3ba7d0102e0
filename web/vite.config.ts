import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build lands in dist/, which web.go embeds. No inline scripts (the CSP
// forbids them) and stable file names so the committed build is reproducible.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
});

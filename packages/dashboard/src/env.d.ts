// Vite bundles the stylesheet imported by main.tsx into its own file (no inline style: the page's CSP forbids it).
declare module '*.css';

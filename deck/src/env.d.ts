// Vite imports a stylesheet for its side effect: the build puts it in the page.
declare module '*.css';

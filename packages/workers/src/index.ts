// The workers package lands with its issue; see README.md.
export {};

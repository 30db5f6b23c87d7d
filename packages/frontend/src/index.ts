// The frontend package lands with its issue; see README.md.
export {};

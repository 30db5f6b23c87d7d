export * from './claim-ticket.js';
export * from './finish-ticket.js';
export * from './list-tickets.js';
export * from './post-ticket.js';
export * from './presence.js';
export * from './queue-view.js';
export * from './session-wait.js';
export * from './ticket.js';

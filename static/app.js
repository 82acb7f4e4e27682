// The agent desktop (index.html). Its code is in desk/, one ES module per pane; desk/main.js
// starts it (login, then the shell and the WebSocket).

import { start } from './desk/main.js';

start();

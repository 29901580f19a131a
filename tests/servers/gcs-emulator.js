// Runs the firebase-tools Cloud Storage emulator's HTTP app (GCS JSON API) on 127.0.0.1 without
// `firebase emulators:start` (which needs Java and a download). Usage: node gcs-emulator.js <firebase-tools dir> <port>
'use strict';
const path = require('path');
const [, , toolsDir, portArg] = process.argv;
const lib = path.join(toolsDir, 'node_modules', 'firebase-tools', 'lib', 'emulator');
const { StorageEmulator } = require(path.join(lib, 'storage', 'index.js'));
const { createApp } = require(path.join(lib, 'storage', 'server.js'));
const { EmulatorRegistry } = require(path.join(lib, 'registry.js'));
const { Emulators } = require(path.join(lib, 'types.js'));

const port = Number(portArg);
// No security rules: the GCS JSON API endpoints use the admin storage layer (rules do not apply to them).
const emulator = new StorageEmulator({ projectId: 'dbbackup-test', host: '127.0.0.1', port, rules: [] });
EmulatorRegistry.set(Emulators.STORAGE, emulator);
createApp('dbbackup-test', emulator).then((app) => {
    const server = app.listen(port, '127.0.0.1', () => console.log(`gcs emulator listening on 127.0.0.1:${port}`));
    server.requestTimeout = 0;
    server.keepAliveTimeout = 65000; // clients (the Node SDK) reuse idle sockets; Node's 5 s default closes them under load (EPIPE)
    server.headersTimeout = 66000;
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}).catch((err) => { console.error(err); process.exit(1); });

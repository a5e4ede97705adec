// peer_express.js: the peer scripts/bench.sh measures sessiongw against,
// a session check as many Node sites do it: express-session with
// connect-redis, as nginx's auth_request target over HTTP.
//
//   node peer_express.js PORT REDIS_PORT WORKERS
//
// POST /peer/login makes a session; GET /peer/check answers 200 with
// X-Auth-User for a valid one, 401 otherwise. WORKERS processes (node's
// cluster module) share PORT, as sessiongw's workers share its socket.
'use strict';
const cluster = require('node:cluster');
const [port, redisPort, workers] = process.argv.slice(2).map(Number);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  // A worker that dies stops everything: the bench must not measure fewer.
  cluster.on('exit', () => process.exit(1));
  const stop = () => { cluster.removeAllListeners('exit');
    for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const express = require('express');
  const session = require('express-session');
  const RedisStore = require('connect-redis').default;
  const { createClient } = require('redis');
  const client = createClient({ socket: { host: '127.0.0.1', port: redisPort } });
  client.connect().catch(() => process.exit(1));
  const app = express();
  app.use(session({
    store: new RedisStore({ client, prefix: 'peer:' }),
    secret: 'scripts/bench.sh, loopback only', name: 'peer_session',
    resave: false, saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: 30 * 60 * 1000 },
  }));
  app.post('/peer/login', (req, res) => { req.session.user = 'bench'; res.status(204).end(); });
  app.get('/peer/check', (req, res) => {
    if (!req.session.user) return res.status(401).end();
    res.set('X-Auth-User', req.session.user).status(200).end();
  });
  app.listen(port, '127.0.0.1');
}

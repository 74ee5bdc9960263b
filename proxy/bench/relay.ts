/**
 * The reference point from PERFORMANCE.md: a plain 1:1 TCP relay in Node.js, no parsing, no pooling.
 * Usage: node relay.js LISTEN_PORT TARGET_PORT
 */
import net from 'node:net';

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: '127.0.0.1', port: targetPort! });
  upstream.setNoDelay(true);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
});
server.listen(listenPort, '127.0.0.1', () => process.stdout.write('relay listening\n'));
process.on('SIGTERM', () => process.exit(0));

#!/usr/bin/env node
// Makes `npm test` work on a fresh Debian machine: the e2e tests need Debian's
// chromium (WebGPU on SwiftShader), the GPU unit tests need libvulkan1 (Dawn's
// Vulkan loader, pointed at Chromium's SwiftShader ICD), and the queue's tests start
// redis-server on a port of their own. Installs them with apt-get
// when running as root; otherwise prints the command to run.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const wanted = [
  { pkg: 'chromium', present: () => existsSync('/usr/lib/chromium/chromium') },
  { pkg: 'redis-server', present: () => existsSync('/usr/bin/redis-server') },
  { pkg: 'libvulkan1', present: () => ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(existsSync) },
];
const missing = wanted.filter((w) => !w.present()).map((w) => w.pkg);
if (missing.length === 0) process.exit(0);

const command = `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`;
if (process.getuid?.() !== 0) {
  console.error(`Missing system packages: ${missing.join(', ')}. Install them with:\n  sudo sh -c '${command}'`);
  process.exit(1);
}
console.log(`Installing system packages for the tests: ${missing.join(', ')}`);
execSync(command, { stdio: 'inherit', shell: '/bin/sh' });

#!/usr/bin/env bash
# The registry's TLS certificate and its logins, in this folder:
#   certs/ca.crt                   the certificate authority (give it to clients)
#   certs/localhost.{crt,key}      the registry's certificate, for localhost
#   auth/htpasswd                  the user USER (default: student), bcrypt
# The password is read from stdin (`echo "$PASSWORD" | ./certs.sh`), so it
# appears in no argument list. Needs openssl and htpasswd (apache2-utils).
set -euo pipefail
cd "$(dirname "$0")"
user=${1:-student}

mkdir -p certs auth
if [ ! -f certs/localhost.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
    -keyout certs/ca.key -out certs/ca.crt -subj "/CN=stack example registry CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes \
    -keyout certs/localhost.key -out certs/localhost.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >certs/san.ext
  openssl x509 -req -in certs/localhost.csr -CA certs/ca.crt -CAkey certs/ca.key \
    -CAcreateserial -days 365 -extfile certs/san.ext -out certs/localhost.crt 2>/dev/null
  rm -f certs/localhost.csr certs/san.ext certs/ca.srl
  chmod 600 certs/*.key
fi
if ! command -v htpasswd >/dev/null; then
  echo "htpasswd is missing: apt install apache2-utils" >&2
  exit 1
fi
htpasswd -iBn "$user" >auth/htpasswd
echo "certificate in certs/, login for $user in auth/htpasswd" >&2

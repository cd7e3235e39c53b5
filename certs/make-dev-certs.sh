#!/bin/sh
# Makes a development CA and a server certificate signed by it, for
# dialerd's TLS listener ([sip] listen_tls, tls_cert, tls_key) and for
# peers that must trust it ([sip] tls_ca = ca.crt).
#
#   certs/make-dev-certs.sh [OUT_DIR] [HOST_NAME]
#
# OUT_DIR defaults to certs/dev (ignored by git: never commit keys).
# The server certificate names HOST_NAME (default localhost), localhost,
# 127.0.0.1 and ::1. Keys are P-256, PKCS#8; files are readable by you only.
# Production certificates come from your CA (or ACME), not from here.
set -eu
out=${1:-certs/dev}
name=${2:-localhost}
command -v openssl >/dev/null || { echo "openssl is needed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

key "$out/ca.key"
openssl req -x509 -new -key "$out/ca.key" -sha256 -days 825 -subj "/CN=dialerd development CA" \
    -out "$out/ca.crt"

key "$out/server.key"
openssl req -new -key "$out/server.key" -subj "/CN=$name" -out "$out/server.csr"
cat > "$out/server.ext" <<EXT
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:$name, DNS:localhost, IP:127.0.0.1, IP:::1
EXT
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -days 397 -sha256 -extfile "$out/server.ext" -out "$out/server.crt" 2>/dev/null
rm -f "$out/server.csr" "$out/server.ext" "$out/ca.srl"
chmod 644 "$out/ca.crt" "$out/server.crt"
echo "CA:          $out/ca.crt (give this to peers that must trust dialerd)"
echo "certificate: $out/server.crt"
echo "key:         $out/server.key"

#!/bin/sh
# Writes a first /etc/dialerd/dialerd.toml from the commented example: the
# packaged paths and a random API key in place of the demo's. Run by the
# Debian postinst when no configuration exists yet (never over an admin's
# file); tests run it with their own directories.
#
#   make-config.sh TEMPLATE SHARE_DIR CONFIG_DIR DATA_DIR OUTPUT
#     TEMPLATE    the commented dialerd.toml
#     SHARE_DIR   where the packaged dialplans are (copied to CONFIG_DIR)
#     CONFIG_DIR  /etc/dialerd: the admin's dialplans live here
#     DATA_DIR    /var/lib/dialerd
set -eu
template=$1 share=$2 conf=$3 data=$4 out=$5
[ -e "$out" ] && { echo "make-config.sh: $out exists; left as it is" >&2; exit 0; }
mkdir -p "$conf"
[ -d "$conf/dialplans" ] || cp -r "$share/dialplans" "$conf/dialplans"
key=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
umask 027
sed -e "s|^data_dir = .*|data_dir = \"$data\"|" \
    -e "s|^prompts_dir = .*|prompts_dir = \"$conf/dialplans/prompts\"|" \
    -e "s|^dir = \"dialplans\"|dir = \"$conf/dialplans\"|" \
    -e "s|dev-key-change-me|$key|" \
    "$template" > "$out"
echo "dialerd: wrote $out with a new API key (see [api] keys)"

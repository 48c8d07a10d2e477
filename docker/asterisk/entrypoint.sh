#!/bin/sh
# infolinia: write the secrets Asterisk's config includes (never baked into the
# image), open ARI and SIP to the container network, then start Asterisk.
set -eu
: "${INFOLINIA_ARI_PASSWORD:?set INFOLINIA_ARI_PASSWORD}"
: "${INFOLINIA_SOFTPHONE_PASSWORD:?set INFOLINIA_SOFTPHONE_PASSWORD}"
etc=/etc/asterisk
umask 027
printf '[infolinia]\ntype = user\nread_only = no\npassword = %s\n' "$INFOLINIA_ARI_PASSWORD" > "$etc/ari_users.conf"
printf '[softphone]\ntype = auth\nauth_type = userpass\nusername = softphone\npassword = %s\n' \
  "$INFOLINIA_SOFTPHONE_PASSWORD" > "$etc/pjsip_secrets.conf"
# In a container ARI must be reachable from the app's container (not published to the host).
printf 'bindaddr = 0.0.0.0\n' > "$etc/http_bind.conf"
printf 'bind = 0.0.0.0:5060\n' > "$etc/pjsip_bind.conf"
# rtp.conf's ICE host candidates: none mapped in a container (the sandbox maps
# the machine's addresses to loopback; behind NAT an operator maps private => public).
[ -f "$etc/rtp_ice_host_candidates.conf" ] || : > "$etc/rtp_ice_host_candidates.conf"
# A cluster's node (docker/cluster.yaml): its name in channel ids, and the
# SIP proxy its callers come through.
if [ -n "${INFOLINIA_NODE:-}" ]; then
  printf 'systemname = %s\n' "$INFOLINIA_NODE" > "$etc/asterisk_node.conf"
fi
if [ -n "${INFOLINIA_SIP_PROXY:-}" ]; then
  printf '[sip-proxy]\ntype = identify\nendpoint = sip-proxy\nmatch = %s\n' \
    "$INFOLINIA_SIP_PROXY" > "$etc/pjsip_proxy.conf"
fi
chown -R asterisk:asterisk "$etc" /var/lib/asterisk /var/log/asterisk /var/spool/asterisk /run/asterisk 2>/dev/null || true
exec "$@"

#!/bin/sh
# infolinia: render Kamailio's config from the template the local cluster
# renders too (devtools/cluster.py), then run Kamailio in the foreground.
#   INFOLINIA_NODES        the Asterisk nodes: name=host:port, comma separated
#                          (node1=asterisk1:5060,node2=asterisk2:5060)
#   INFOLINIA_SIP_TRUSTED  a regex of the source addresses allowed to REGISTER
#                          (default: the private networks a compose network uses)
set -eu
: "${INFOLINIA_NODES:?set INFOLINIA_NODES (node1=asterisk1:5060,...)}"
trusted="${INFOLINIA_SIP_TRUSTED:-^(10|172[.](1[6-9]|2[0-9]|3[01])|192[.]168)[.]}"
address=$(hostname -i | cut -d' ' -f1)
etc=/etc/kamailio
: > "$etc/dispatcher.list"
for node in $(echo "$INFOLINIA_NODES" | tr ',' ' '); do
  printf '1 sip:%s 0 0 node=%s\n' "${node#*=}" "${node%%=*}" >> "$etc/dispatcher.list"
done
# '#' occurs in none of the values (addresses, paths, the regex).
sed -e "s#{{listen}}#$address:5060#g" \
    -e "s#{{ctl_socket}}#/run/kamailio/kamailio_ctl#g" \
    -e "s#{{dispatcher_list}}#$etc/dispatcher.list#g" \
    -e "s#{{ping_interval}}#1#g" \
    -e "s#{{trusted}}#$trusted#g" \
    "$etc/kamailio.cfg.template" > "$etc/kamailio.cfg"
if grep -q '{{' "$etc/kamailio.cfg"; then
  echo "kamailio.cfg: a name of the template has no value" >&2
  exit 1
fi
kamailio -c -f "$etc/kamailio.cfg"
exec kamailio -DD -E -f "$etc/kamailio.cfg" -P /run/kamailio/kamailio.pid -Y /run/kamailio

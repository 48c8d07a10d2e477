"""The ``webservice`` adapter: a bank whose core system answers JSON over
HTTPS, following the contract in ``openapi.yaml`` next to this file."""

from adapters.webservice.client import WebserviceBank, WebserviceSettings

__all__ = ["WebserviceBank", "WebserviceSettings"]

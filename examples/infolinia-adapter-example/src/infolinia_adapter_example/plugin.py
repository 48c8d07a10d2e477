"""What infolinia loads from the ``infolinia.adapters`` entry point: one hook
that says which adapters this package provides."""

from adapters.hookspecs import AdapterFactory, hookimpl
from infolinia_adapter_example.bank import ExampleBank, ExampleSettings


@hookimpl
def infolinia_register_adapters() -> list[AdapterFactory]:
    return [
        AdapterFactory(
            name="example",
            settings=ExampleSettings,
            create=ExampleBank,
            description="example vendor core kept in memory",
        )
    ]

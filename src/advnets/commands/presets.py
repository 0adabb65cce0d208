"""advnets presets: list the built-in presets."""

from __future__ import annotations

import argparse
import itertools
import shutil

DESCRIPTION = "List the built-in presets."

EXAMPLES = """example:
  advnets presets"""


def add_arguments(p: argparse.ArgumentParser) -> None:

    pass


def run(args: argparse.Namespace) -> int:
    import textwrap

    from advnets.config import preset_names, preset_path

    width = max(60, min(shutil.get_terminal_size().columns, 120))
    for name in preset_names():
        lines = preset_path(name).read_text().splitlines()
        comment = " ".join(line.lstrip("#").strip() for line in itertools.takewhile(lambda l: l.startswith("#"), lines))
        print(textwrap.fill(comment, width, initial_indent=f"{name:22s} ", subsequent_indent=" " * 23))
    from advnets import plugins

    registered = [(f"{key} {name}", entry.provenance) for key, table in (
        ("generator.arch", plugins.generators()), ("discriminator.arch", plugins.discriminators()),
        ("--features", plugins.features())) for name, entry in table.items()]
    registered += [(f"data.name {spec.name}", {}) for spec in plugins.datasets()]
    if registered:  # what installed plugins bring (the advnets.plugins entry points)
        print("\nfrom plugins (use with any preset):")
        for what, where in registered:
            origin = " ".join(filter(None, (where.get("distribution"), where.get("version")))) or where.get("module", "")
            print(f"  {what:40s} {origin}")
    return 0

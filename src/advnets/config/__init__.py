"""Typed run configuration: one dataclass per concern, YAML round trip, dotted overrides.

    schema.py    the dataclasses (defaults, choices): what a config can say
    loading.py   presets, YAML files, dotted overrides, renamed keys; to and from dicts and YAML
    checks.py    range checks, and the checks that wait for the data set's content

Example::

    cfg = load_config("paper-mnist", overrides=["train.steps=2000", "seed=3"])
    print(to_yaml(cfg))

Nothing here imports PyTorch: listing presets, printing help and refusing a typo stay fast.
"""

from advnets.config.checks import validate, with_data_found
from advnets.config.loading import (MAX_YAML_VALUES, RENAMED_KEYS, changed_keys, flatten, from_dict, load_config,
                                    parse_override, preset_names, preset_path, read_yaml, safe_yaml, set_dotted,
                                    to_dict, to_yaml)
from advnets.config.schema import (Config, ConvLayerConfig, DataConfig, DiscriminatorConfig, FoundImages,
                                   GeneratorConfig, InferenceConfig, LossConfig, OptimConfig, TrainConfig)

__all__ = ["MAX_YAML_VALUES", "RENAMED_KEYS", "Config", "ConvLayerConfig", "DataConfig", "DiscriminatorConfig",
           "FoundImages", "GeneratorConfig", "InferenceConfig", "LossConfig", "OptimConfig", "TrainConfig",
           "changed_keys", "flatten", "from_dict", "load_config", "parse_override", "preset_names", "preset_path",
           "read_yaml", "safe_yaml", "set_dotted", "to_dict", "to_yaml", "validate", "with_data_found"]

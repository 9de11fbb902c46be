"""YAML read with the line of every key, so a message can say "file, line 12"."""
import yaml


def load_with_lines(text):
    """Parse YAML ``text``; return ``(data, lines)`` with ``lines[path] = line number``.

    ``path`` is a tuple of mapping keys and list positions, e.g. ``("steps", 2, "indicators")``;
    ``lines[()]`` is the first line. Raises ``yaml.YAMLError`` on broken YAML.
    """
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = {}
    if node is None:
        return None, lines
    return node_to_python(node, (), lines), lines


def node_to_python(node, path, lines):
    """Convert a composed YAML node into Python objects, recording the line of every path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = node_to_python(value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [node_to_python(item, path + (i,), lines) for i, item in enumerate(node.value)]
    return yaml.SafeLoader(" ").construct_object(node) if node.tag != "tag:yaml.org,2002:str" else node.value


def yaml_error_line(error):
    """The 1-based line a ``yaml.YAMLError`` points at (0 if it has none)."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return mark.line + 1 if mark is not None else 0

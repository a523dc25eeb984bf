"""The OpenAPI 2.0 side of spec_server.py: the spec documents with $ref resolution (also into
common-types), their operations and examples, request-body validation, and the few generic
rules for answering (merge-patch state, status fields and their success words). python3 stdlib
only; knows nothing of edgedr or of any one service.
"""
import copy
import json
import os
import re

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$", re.I)
# common-types parameters the extracts reference but do not carry (their meaning is fixed by
# common-types/resource-management/vN/types.json).
COMMON_PARAMETERS = {
    "ApiVersionParameter": {"name": "api-version", "in": "query", "required": True, "type": "string"},
    "SubscriptionIdParameter": {"name": "subscriptionId", "in": "path", "required": True, "type": "string"},
    "ResourceGroupNameParameter": {"name": "resourceGroupName", "in": "path", "required": True, "type": "string"},
}
SUCCESS_WORDS = ("Succeeded", "Completed")
TERMINAL = {"succeeded", "failed", "canceled", "cancelled", "completed", "completedwithwarnings"}


class Spec:
    """One OpenAPI document, with $ref resolution across the files under the specs directory."""

    def __init__(self, root, rel):
        self.root = root
        self.path = os.path.join(root, rel)
        self.dir = os.path.dirname(self.path)
        with open(self.path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.version = self.doc["info"]["version"]
        self.name = rel.split("/")[0]
        self._files = {}
        self.operations = []

    def load_file(self, path):
        path = os.path.normpath(path)
        if path not in self._files:
            try:
                with open(path, encoding="utf-8") as f:
                    self._files[path] = json.load(f)
            except OSError:
                self._files[path] = None
        return self._files[path]

    def resolve(self, ref, base_file=None):
        """(target, file it lives in), or (None, None) for a $ref that dangles in the extracts."""
        base_file = base_file or self.path
        file_part, _, pointer = ref.partition("#")
        if file_part:
            target_file = os.path.normpath(os.path.join(os.path.dirname(base_file), file_part))
            if not os.path.exists(target_file):
                # ../../../../../../common-types/resource-management/vN/types.json: the spec
                # repository's layout; the copy lives at <root>/common-types/...
                at = file_part.find("common-types/")
                target_file = os.path.join(self.root, file_part[at:]) if at >= 0 else target_file
            doc = self.load_file(target_file) if target_file != self.path else self.doc
        else:
            target_file, doc = base_file, (self.doc if base_file == self.path else self.load_file(base_file))
        if doc is None:
            return None, None
        node = doc
        for part in [p for p in pointer.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None, None
            node = node[part]
        return node, target_file


class Operation:
    def __init__(self, spec, template, method, op, path_params):
        self.spec = spec
        self.template = template
        self.method = method.upper()
        self.id = op["operationId"]
        self.op = op
        self.lro = bool(op.get("x-ms-long-running-operation"))
        self.lro_options = op.get("x-ms-long-running-operation-options", {})
        self.params = []
        for p in path_params + op.get("parameters", []):
            if "$ref" in p:
                name = p["$ref"].split("/")[-1]
                target, _ = spec.resolve(p["$ref"])
                p = target if target is not None else COMMON_PARAMETERS.get(name)
                if p is None:
                    continue
            self.params.append(p)
        names = []
        pattern = ""
        for seg in template.strip("/").split("/"):
            m = re.fullmatch(r"\{([^}]+)\}", seg)
            if m:
                names.append(m.group(1))
                pattern += "/([^/]+)"
            else:
                pattern += "/" + re.escape(seg)
        self.names = names
        self.regex = re.compile("^" + pattern + "$", re.I)
        self.literals = sum(1 for s in template.split("/") if s and not s.startswith("{"))
        self.examples = []
        for title, ex in op.get("x-ms-examples", {}).items():
            doc = self._load_example(ex.get("$ref", ""))
            if doc is not None:
                self.examples.append((title, doc))

    def _load_example(self, ref):
        if not ref:
            return None
        path = os.path.normpath(os.path.join(self.spec.dir, ref))
        if os.path.exists(path):
            return self.spec.load_file(path)
        # An older api-version's copy of the same example (README.md: examples/<version>/...).
        rel = os.path.relpath(path, os.path.join(self.spec.dir, "examples"))
        examples = os.path.join(self.spec.dir, "examples")
        for sub in sorted(os.listdir(examples)) if os.path.isdir(examples) else []:
            candidate = os.path.join(examples, sub, rel)
            if os.path.isdir(os.path.join(examples, sub)) and os.path.exists(candidate):
                return self.spec.load_file(candidate)
        return None

    def param(self, where, name=None):
        return [p for p in self.params if p.get("in") == where and (name is None or p.get("name") == name)]

    def example_for(self, path_values):
        """The example whose parameters match the request's path values best (first on ties)."""
        best, best_score = None, -1
        for title, doc in self.examples:
            ps = doc.get("parameters", {})
            score = sum(1 for k, v in path_values.items() if str(ps.get(k, "")).lower() == v.lower())
            if score > best_score:
                best, best_score = (title, doc), score
        return best


class Validator:
    """OpenAPI 2.0 schema validation of a request body. Errors are 'path: what' strings."""

    def __init__(self, spec):
        self.spec = spec
        self.unchecked = []  # parts of the body the extracts cannot check

    def deref(self, schema, file):
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 20:
            target, tfile = self.spec.resolve(schema["$ref"], file)
            if target is None:
                return None, file, schema["$ref"]
            schema, file = target, tfile
            seen += 1
        return schema, file, None

    def merged(self, schema, file, depth=0):
        """properties, required, and the rest of a schema with its allOf parents folded in."""
        schema, file, dangling = self.deref(schema, file)
        out = {"properties": {}, "required": set(), "schema": schema or {}, "file": file, "dangling": []}
        if dangling:
            out["dangling"].append(dangling)
            return out
        if depth > 20:
            return out
        for parent in schema.get("allOf", []):
            m = self.merged(parent, file, depth + 1)
            out["properties"].update(m["properties"])
            out["required"] |= m["required"]
            out["dangling"] += m["dangling"]
            for key in ("discriminator", "type", "additionalProperties"):
                if key in m["schema"] and key not in out["schema"]:
                    out["schema"] = dict(out["schema"], **{key: m["schema"][key]})
        for name, sub in schema.get("properties", {}).items():
            out["properties"][name] = (sub, file)
        out["required"] |= set(schema.get("required", []))
        return out

    def subtype(self, base_name, value):
        """The definition named by a discriminator value: x-ms-discriminator-value, else its name."""
        defs = self.spec.doc.get("definitions", {})
        for name, d in defs.items():
            if d.get("x-ms-discriminator-value", name) != value:
                continue
            if any(p.get("$ref", "").endswith("/" + base_name) for p in d.get("allOf", [])) or name == base_name:
                return {"$ref": "#/definitions/" + name}
        return None

    def validate(self, value, schema, file, where, errors, depth=0):
        if depth > 40:
            return
        ref_name = schema.get("$ref", "").split("/")[-1] if isinstance(schema, dict) else ""
        m = self.merged(schema, file)
        if m["dangling"]:
            return  # the extract does not carry this definition: nothing to check against
        s = m["schema"]
        if value is None:
            if not s.get("x-nullable", False):
                errors.append("%s: null is not allowed" % where)
            return
        disc = s.get("discriminator")
        if disc and isinstance(value, dict) and ref_name:
            dvalue = value.get(disc)
            if dvalue is None:
                errors.append("%s: the discriminator %s is missing" % (where, disc))
                return
            if dvalue != s.get("x-ms-discriminator-value", ref_name):
                sub = self.subtype(ref_name, dvalue)
                if sub is None and "x-edgedr-extraction" in self.spec.doc:
                    # The extract left most provider subtypes out: nothing to check it against.
                    self.unchecked.append("%s: %s %r: no subtype of %s in the extract" % (where, disc, dvalue, ref_name))
                    return
                if sub is None:
                    errors.append("%s: %s %r names no subtype of %s in the spec" % (where, disc, dvalue, ref_name))
                    return
                return self.validate(value, sub, self.spec.path, where, errors, depth + 1)
        typ = s.get("type") or ("object" if m["properties"] else None)
        if typ == "object" or (typ is None and isinstance(value, dict)):
            if not isinstance(value, dict):
                errors.append("%s: expected an object, got %s" % (where, json.dumps(value)[:60]))
                return
            for r in sorted(m["required"]):
                if r not in value:
                    errors.append("%s: required property %s is missing" % (where, r))
            extra = s.get("additionalProperties")
            for k, v in value.items():
                if k in m["properties"]:
                    sub, sfile = m["properties"][k]
                    sub_d, _, _ = self.deref(sub, sfile)
                    if isinstance(sub_d, dict) and sub_d.get("readOnly"):
                        errors.append("%s.%s: read-only property sent in a request" % (where, k))
                    self.validate(v, sub, sfile, "%s.%s" % (where, k), errors, depth + 1)
                elif isinstance(extra, dict):
                    self.validate(v, extra, m["file"], "%s.%s" % (where, k), errors, depth + 1)
                elif extra is not True and (m["properties"] or extra is False):
                    errors.append("%s.%s: property not in the spec's schema" % (where, k))
            return
        if typ == "array":
            if not isinstance(value, list):
                errors.append("%s: expected an array, got %s" % (where, json.dumps(value)[:60]))
                return
            for i, item in enumerate(value):
                self.validate(item, s.get("items", {}), m["file"], "%s[%d]" % (where, i), errors, depth + 1)
            return
        if typ == "string":
            if not isinstance(value, str):
                errors.append("%s: expected a string, got %s" % (where, json.dumps(value)[:60]))
                return
            if "maxLength" in s and len(value) > s["maxLength"]:
                errors.append("%s: longer than %d characters" % (where, s["maxLength"]))
            if "minLength" in s and len(value) < s["minLength"]:
                errors.append("%s: shorter than %d characters" % (where, s["minLength"]))
            if s.get("format") == "date-time" and not DATE_TIME_RE.match(value):
                errors.append("%s: %r is not an RFC 3339 date-time" % (where, value))
            if s.get("format") == "uuid" and not UUID_RE.match(value):
                errors.append("%s: %r is not a UUID" % (where, value))
        elif typ in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                typ == "integer" and not isinstance(value, int)
            ):
                errors.append("%s: expected %s, got %s" % (where, typ, json.dumps(value)[:60]))
                return
            if "minimum" in s and value < s["minimum"]:
                errors.append("%s: %s is below the minimum %s" % (where, value, s["minimum"]))
            if "maximum" in s and value > s["maximum"]:
                errors.append("%s: %s is above the maximum %s" % (where, value, s["maximum"]))
        elif typ == "boolean":
            if not isinstance(value, bool):
                errors.append("%s: expected a boolean, got %s" % (where, json.dumps(value)[:60]))
                return
        if "enum" in s and value not in s["enum"]:
            errors.append("%s: %r is not one of %s" % (where, value, ", ".join(map(str, s["enum"]))))


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def status_field(body):
    """(container, key) of a body's status field, or (None, None)."""
    if not isinstance(body, dict):
        return None, None
    if isinstance(body.get("status"), str):
        return body, "status"
    props = body.get("properties")
    if isinstance(props, dict):
        for key in ("state", "status"):
            if isinstance(props.get(key), str):
                return props, key
    return None, None


def success_value(op, field, in_properties):
    """The success word of a status field: from its enum in the operation's 200 schema, else the
    success word the service's own examples show for a field of that name (Backup's Job.status is
    a plain string, its examples say Completed)."""
    words = set()
    spec = op.spec
    todo, seen = [op.op.get("responses", {}).get("200", {}).get("schema", {})], set()
    while todo:
        s = todo.pop()
        if not isinstance(s, dict):
            continue
        if "$ref" in s:
            if s["$ref"] in seen:
                continue
            seen.add(s["$ref"])
            todo.append(spec.resolve(s["$ref"])[0])
            # Subtypes (discriminated) carry the fields too.
            name = s["$ref"].split("/")[-1]
            for dname, d in spec.doc.get("definitions", {}).items():
                if any(p.get("$ref", "").endswith("/" + name) for p in d.get("allOf", [])):
                    todo.append({"$ref": "#/definitions/" + dname})
            continue
        for k, sub in s.get("properties", {}).items():
            if k == field:
                sub_d = spec.resolve(sub["$ref"])[0] if "$ref" in sub else sub
                words |= set((sub_d or {}).get("enum", []))
            todo.append(sub)
        todo.extend(s.get("allOf", []))
        if "items" in s:
            todo.append(s["items"])
    for word in SUCCESS_WORDS:
        if word in words:
            return word
    counts = {w: 0 for w in SUCCESS_WORDS}
    for other in spec.operations:
        for _, doc in other.examples:
            count_values(doc.get("responses", {}), in_properties, field, counts)
    best = max(SUCCESS_WORDS, key=lambda w: counts[w])
    return best if counts[best] else SUCCESS_WORDS[0]


def count_values(node, in_properties, field, counts):
    """Counts the success words among the values a resource-shaped node has at the same place
    (properties.FIELD, or FIELD at the top)."""
    if isinstance(node, dict):
        holder = node.get("properties") if in_properties else node
        if isinstance(holder, dict) and isinstance(holder.get(field), str) and holder[field] in counts:
            counts[holder[field]] += 1
        for v in node.values():
            count_values(v, in_properties, field, counts)
    elif isinstance(node, list):
        for v in node:
            count_values(v, in_properties, field, counts)

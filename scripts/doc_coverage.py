#!/usr/bin/env python3
"""Share of public declarations with a doc comment, per module.

    scripts/doc_coverage.py [MODULE ...] [--list] [--minimum PERCENT]

A public declaration is a line starting (after indentation and attributes) with
`public` or `open` that declares a type, function, initializer, property,
subscript, case list or typealias; it is documented when the line before it
(skipping attributes) ends a `///` or `/** */` comment. Members of public
extensions count as public when they are marked public. A member that implements
a documented requirement of a protocol of the module (same kind and name, in a
file that declares a type adopting the protocol) counts as documented: DocC shows
the requirement's documentation for it. Exits 1 when a module is under --minimum.
"""
import os
import re
import sys

DECLARATION = re.compile(r'^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public|open)\s+(?:(?:static|class|final|override|mutating|nonmutating|'
                         r'convenience|required|indirect|nonisolated|lazy|private\(set\)|internal\(set\)|fileprivate\(set\))\s+)*'
                         r'(struct|class|enum|protocol|actor|func|init|var|let|subscript|typealias|case|extension)\b')


REQUIREMENT = re.compile(r'^\s*(?:static\s+)?(func|var|init)\s*([A-Za-z_]\w*)?')
MEMBER_NAME = re.compile(r'\b(func|var|let|init)\b\s*([A-Za-z_]\w*)?')


def documented_requirements(files):
    """Protocol name -> {(kind, name)} of its documented requirements (protocols of one module)."""
    result, parents = {}, {}
    for path in files:
        with open(path, encoding='utf-8') as handle:
            lines = handle.read().split('\n')
        for index, line in enumerate(lines):
            match = re.match(r'^(\s*)public protocol (\w+)', line)
            if not match:
                continue
            indent, name = match.group(1), match.group(2)
            requirements = set()
            for inner in range(index + 1, len(lines)):
                if lines[inner].startswith(indent + '}'):
                    break
                requirement = REQUIREMENT.match(lines[inner])
                if requirement and lines[inner - 1].strip().startswith('///'):
                    kind = 'var' if requirement.group(1) == 'var' else requirement.group(1)
                    requirements.add((kind, requirement.group(2) or 'init'))
            result[name] = requirements
            parents[name] = re.findall(r'\w+', line[match.end():].split('{')[0])
        for line in lines:
            alias = re.match(r'^\s*public typealias (\w+)\s*=\s*([\w\s&]+)$', line)
            if alias and '&' in alias.group(2):
                parents[alias.group(1)] = re.findall(r'\w+', alias.group(2))
                result.setdefault(alias.group(1), set())

    def closure(name, seen):
        if name in seen:
            return set()
        seen.add(name)
        found = set(result.get(name, set()))
        for parent in parents.get(name, []):
            found |= closure(parent, seen)
        return found
    return {name: closure(name, set()) for name in result}


def witnesses(lines, requirements):
    """(kind, name) pairs this file's types implement for documented protocol requirements."""
    adopted = set()
    for line in lines:
        header = re.match(r'^\s*(?:public\s+|open\s+)?(?:final\s+)?(?:struct|class|enum|actor|extension)\s+[\w.<>]+\s*(?:<[^>]*>)?\s*:\s*([^{]+)', line)
        if header:
            for name in re.findall(r'\w+', header.group(1)):
                adopted |= requirements.get(name, set())
    return adopted


def declarations(path, requirements=None):
    with open(path, encoding='utf-8') as handle:
        lines = handle.read().split('\n')
    inherited = witnesses(lines, requirements or {})
    for index, line in enumerate(lines):
        match = DECLARATION.match(line)
        if not match or match.group(1) == 'extension':
            continue
        previous = index - 1
        while previous >= 0 and re.match(r'^\s*@\w+', lines[previous]) and not DECLARATION.match(lines[previous]):
            previous -= 1
        text = lines[previous].strip() if previous >= 0 else ''
        documented = text.startswith('///') or text.endswith('*/')
        if not documented and match.group(1) in ('func', 'var', 'let', 'init'):
            member = MEMBER_NAME.search(line[match.start(1):])
            kind = 'var' if member.group(1) in ('var', 'let') else member.group(1)
            documented = (kind, member.group(2) or 'init') in inherited
        yield index + 1, line.strip(), documented


def main(arguments):
    listing = '--list' in arguments
    minimum = None
    if '--minimum' in arguments:
        minimum = float(arguments[arguments.index('--minimum') + 1])
    modules = [a for i, a in enumerate(arguments) if not a.startswith('--') and (i == 0 or arguments[i - 1] != '--minimum')]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Sources')
    if not modules:
        modules = sorted(m for m in os.listdir(root) if m.startswith('SER'))
    failed = False
    for module in modules:
        total = documented = 0
        missing = []
        paths = sorted(os.path.join(folder, name) for folder, _, files in os.walk(os.path.join(root, module))
                       for name in files if name.endswith('.swift'))
        requirements = documented_requirements(paths)
        for path in paths:
            for number, text, has_doc in declarations(path, requirements):
                total += 1
                documented += has_doc
                if not has_doc:
                    missing.append(f'{os.path.relpath(path, root)}:{number}: {text}')
        share = 100.0 * documented / total if total else 100.0
        print(f'{module:16} {documented:4}/{total:<4} {share:5.1f} %')
        if listing:
            for entry in missing:
                print('    ' + entry)
        if minimum is not None and share < minimum:
            failed = True
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

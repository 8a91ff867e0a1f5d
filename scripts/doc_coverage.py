#!/usr/bin/env python3
"""Share of public declarations with a doc comment, per module.

    scripts/doc_coverage.py [MODULE ...] [--list] [--minimum PERCENT]

A public declaration is a line starting (after indentation and attributes) with
`public` or `open` that declares a type, function, initializer, property,
subscript, case list or typealias; it is documented when the line before it
(skipping attributes) ends a `///` or `/** */` comment. Members of public
extensions count as public when they are marked public. Exits 1 when a module is
under --minimum.
"""
import os
import re
import sys

DECLARATION = re.compile(r'^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public|open)\s+(?:(?:static|class|final|override|mutating|nonmutating|'
                         r'convenience|required|indirect|nonisolated|lazy|private\(set\)|internal\(set\)|fileprivate\(set\))\s+)*'
                         r'(struct|class|enum|protocol|actor|func|init|var|let|subscript|typealias|case|extension)\b')


def declarations(path):
    with open(path, encoding='utf-8') as handle:
        lines = handle.read().split('\n')
    for index, line in enumerate(lines):
        match = DECLARATION.match(line)
        if not match or match.group(1) == 'extension':
            continue
        previous = index - 1
        while previous >= 0 and re.match(r'^\s*@\w+', lines[previous]) and not DECLARATION.match(lines[previous]):
            previous -= 1
        text = lines[previous].strip() if previous >= 0 else ''
        documented = text.startswith('///') or text.endswith('*/')
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
        for folder, _, files in os.walk(os.path.join(root, module)):
            for name in sorted(files):
                if not name.endswith('.swift'):
                    continue
                path = os.path.join(folder, name)
                for number, text, has_doc in declarations(path):
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

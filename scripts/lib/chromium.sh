# shellcheck shell=bash
# Chromium: only has to be installed (Debian's package); tests start it
# themselves in headless mode. Nothing to start or stop.

chromium_packages() {
	# --no-install-recommends would leave out the fonts pages render with.
	[ -x /usr/bin/chromium ] || echo chromium fonts-liberation
}

chromium_install() {
	[ -x /usr/bin/chromium ] || die "chromium: /usr/bin/chromium missing after apt-get install"
}

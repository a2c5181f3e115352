/*
 * focus.js - where the keyboard focus goes when what held it goes away or
 * a screen changes: after sign-in, after Save, after a dialog or an alert
 * is closed.  Never left to fall back to the page (document.body), where a
 * keyboard or screen-reader user would have to start again from the top.
 *
 * Loaded before app.js; uses its globals only when called.
 */
'use strict';

/* Can el take the focus now (shown, enabled)? */
function focusable(el) {
	return !!el && el.isConnected && !el.disabled && !el.closest('[hidden]')
		&& el.getClientRects().length > 0;
}

/* Put the focus on el, making a heading or a paragraph focusable by script
 * only (tabindex -1: not a Tab stop). */
function focusOn(el) {
	if (!el)
		return false;
	if (el.tabIndex < 0 && !el.hasAttribute('tabindex'))
		el.tabIndex = -1;
	if (!focusable(el))
		return false;
	el.focus();
	return document.activeElement === el;
}

/* The first of els that takes the focus. */
function focusFirst(els) {
	return els.some((el) => focusOn(typeof el === 'string' ? document.getElementById(el) : el));
}

/* Is the focus lost (on the page itself, or on nothing)? */
function focusLost() {
	const a = document.activeElement;
	return !a || a === document.body || a === document.documentElement || !focusable(a);
}

/* After sign-in: the first choice still to make, else the open lead. */
function focusAfterSignIn() {
	const pickers = ['pick-cc', 'pick-process', 'pick-campaign', 'pick-lead']
		.map((id) => document.getElementById(id))
		.filter((s) => focusable(s) && !s.value);
	if (!focusFirst(pickers))
		focusFirst(['mapping-title', 'empty-hint', 'console-title']);
}

/* After Save: the open lead's title, from which the lists follow; the
 * "Saved" status is read out by its live region. */
function focusAfterSave() {
	focusFirst(['mapping-title', 'main']);
}

/* After the alert's Dismiss: back into the work, if nothing else took it. */
function focusAfterDismiss() {
	if (focusLost())
		focusFirst(['save-btn', 'mapping-title', 'login-username', 'main']);
}

/* A button pressed is disabled while its request runs, which takes the
 * focus from it: holdFocus() before, releaseFocus() after gives it back,
 * unless something else took the focus meanwhile (an error, a dialog). */
let heldFocus = null;

function holdFocus() {
	heldFocus = document.activeElement;
}

function releaseFocus() {
	const el = heldFocus;
	heldFocus = null;
	if (el && el !== document.body && focusLost())
		focusOn(el);
}

/* Where the focus is, for giving it back later: the element that has it, or
 * the button that lost it to being disabled while busy. */
function focusOrigin() {
	return focusLost() ? heldFocus : document.activeElement;
}

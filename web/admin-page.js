// Start of every admin page: sign-out button, the signed-in user in the header, and a plain
// "Admins only" page for anyone else. Returns the admin, or null when the page should stop.
import { me, signOut } from './api.js';
import { h, replaceChildren, showMessage } from './dom.js';

export async function startAdminPage(statusElement) {
  document.getElementById('sign-out').addEventListener('click', signOut);
  let user;
  try {
    ({ user } = await me());
  } catch (err) {
    if (err.status !== 401) showMessage(statusElement, err.message);
    return null;
  }
  document.getElementById('who').textContent = `Signed in as ${user.name || user.email}`;
  if (user.role !== 'admin') {
    replaceChildren(document.getElementById('main'), h('h1', {}, 'Admins only'),
      h('p', {}, 'This page is for the team lead. ', h('a', { href: '/' }, 'Go to your work.')));
    return null;
  }
  return user;
}

// The camera's images (GET /api/images, polled every POLL_MS): the image chosen (the newest
// that has come down, at least in part, unless one is picked in the filmstrip), as far as it
// came down (strips not wholly received
// are mid-grey: the server draws them so), with when it was taken (T+), how much of it arrived,
// and where the flight software believed the lander was; below, the filmstrip by time, each
// thumbnail marked complete, partial or announced only.
import { getJSON } from './feed.js';
import { IMAGERY_TYPE } from './objects.js';
import { metText } from './time.js';
import { element, latLonText, view } from './views.js';

export const POLL_MS = 2000; // the list asked for again (ms)
export const THUMB_PX = 96; // filmstrip thumbnails' width

/** How much of an image came down, in words, and its state ('complete', 'partial', 'none'). */
export function receivedText(image) {
  const total = image.octets;
  if (image.complete) return { state: 'complete', text: 'complete' };
  if (total === null || total === undefined) {
    return { state: 'partial', text: `${image.octets_received.toLocaleString('en-US')} octets, ` +
      'its description not received' };
  }
  if (total === 0) return { state: 'none', text: 'not kept onboard (storage full)' };
  const pct = Math.floor((100 * image.octets_received) / total);
  return image.octets_received
    ? { state: 'partial', text: `${pct} % (${image.strips_complete} of ${image.strips} strips)` }
    : { state: 'none', text: 'announced, nothing received yet' };
}

/** The caption of an image: when, what came, where the lander believed it was. */
export function captionText(image) {
  const when = image.t === null || image.t === undefined ? 'time unknown' : metText(image.t);
  const where = image.lat_deg === null || image.lat_deg === undefined ? '' :
    ` · estimate ${latLonText(image.lat_deg, image.lon_deg)}, ` +
    `${(image.altitude_m / 1000).toFixed(2)} km up`;
  return `#${image.image_id} · ${when} · ${receivedText(image).text}${where}`;
}

export function imageryView(epochMs) {
  return view('touchdown.imagery', 'Camera', 'icon-image', IMAGERY_TYPE, (root) => {
    const picture = element('img', { class: 'td-img-main', alt: 'the camera image' });
    const caption = element('div', { class: 'td-img-caption' });
    const note = element('div', { class: 'td-note', text: 'No images yet.' });
    const strip = element('div', { class: 'td-img-strip' });
    root.append(element('div', { class: 'td-view td-imagery' }, [
      element('div', { class: 'td-img-frame' }, [picture]), caption, note, strip
    ]));
    let chosen = null; // an image id picked in the filmstrip (null: follow the newest)
    let shownKey = null;
    const thumbs = new Map(); // id -> {el, key}
    let alive = true;

    function show(images) {
      note.hidden = images.length > 0;
      // the one picked, else the newest with something to show, else the newest announced
      const current = images.find((i) => i.image_id === chosen) ??
        images.findLast((i) => i.octets_received > 0) ?? images.at(-1);
      if (!current) return;
      const key = `${current.image_id}:${current.octets_received}:${current.octets}`;
      if (key !== shownKey) { // a new image, or more of it came
        shownKey = key;
        picture.src = `${current.url}?v=${current.octets_received}`;
        picture.dataset.imageId = String(current.image_id);
      }
      caption.textContent = captionText(current) + (chosen === null ? '' : ' · (picked: ' +
        'click it again to follow the newest)');
      caption.title = `taken at ${new Date(epochMs + 1000 * current.t).toISOString()}`;
      for (const image of images) {
        const { state } = receivedText(image);
        const k = `${image.octets_received}:${image.octets}:${state}`;
        let t = thumbs.get(image.image_id);
        if (!t) {
          const img = element('img', { alt: `image ${image.image_id}`, width: String(THUMB_PX) });
          const el = element('button', { type: 'button', class: 'td-img-thumb',
            'data-image-id': String(image.image_id) }, [img,
            element('span', { class: 'td-img-when', text: metText(image.t) })]);
          el.addEventListener('click', () => {
            chosen = chosen === image.image_id ? null : image.image_id;
            shownKey = null;
            refresh();
          });
          t = { el, img, key: null };
          thumbs.set(image.image_id, t);
          strip.append(el);
        }
        if (t.key !== k) {
          t.key = k;
          t.el.dataset.state = state;
          t.el.title = captionText(image);
          if (image.octets !== null && image.octets !== undefined) {
            t.img.src = `${image.url}?width=${THUMB_PX}&v=${image.octets_received}`;
          }
        }
        t.el.classList.toggle('is-current', image.image_id === current.image_id);
      }
    }

    let loading = false;
    async function refresh() {
      if (loading) return;
      loading = true;
      try {
        const { images } = await getJSON('/api/images');
        if (alive) show(images);
      } catch (error) {
        note.hidden = false;
        note.textContent = `images unavailable: ${error.message}`;
      } finally {
        loading = false;
      }
    }

    refresh();
    const timer = setInterval(refresh, POLL_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  });
}

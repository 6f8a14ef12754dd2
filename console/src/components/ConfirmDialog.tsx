import { useEffect, useRef } from 'preact/hooks';

export interface Confirmation {
  title: string;
  /** What will change, one statement per line. */
  lines: string[];
  action: string;
  run: () => Promise<void> | void;
}

/** A modal <dialog>: focus stays inside, Escape cancels, the change is spelt out. */
export function ConfirmDialog(props: { confirmation?: Confirmation; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { confirmation, onClose } = props;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (confirmation && !dialog.open) dialog.showModal();
    if (!confirmation && dialog.open) dialog.close();
  }, [confirmation]);

  const confirm = async () => {
    const run = confirmation?.run;
    onClose();
    await run?.();
  };

  return (
    <dialog
      ref={ref}
      class="confirm"
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {confirmation && (
        <div>
          <h2 id="confirm-title">{confirmation.title}</h2>
          <ul class="changes">
            {confirmation.lines.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <div class="buttons">
            <button type="button" onClick={onClose} autofocus>
              Cancel
            </button>
            <button type="button" class="danger" data-confirm onClick={() => void confirm()}>
              {confirmation.action}
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}

// The UI's entry point: mount the app on the page the gateway serves at `/`.

import { render } from 'preact';
import { App } from './App';
import './styles.css';

render(<App />, document.getElementById('app')!);

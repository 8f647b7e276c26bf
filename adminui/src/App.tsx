import { useTranslation } from 'react-i18next';
import { CALLBACK_PATH, useAuth } from './auth/auth';
import { Layout } from './components/Layout';
import { Empty, Spinner } from './components/ui';
import { Link, useRoute } from './lib/router';
import { AuditPage } from './pages/Audit';
import { DashboardPage } from './pages/Dashboard';
import { KeyDetailPage } from './pages/KeyDetail';
import { KeysPage } from './pages/Keys';
import { LoginPage } from './pages/Login';
import { PricesPage } from './pages/Prices';
import { RoutesPage } from './pages/Routes';
import { UsagePage } from './pages/Usage';

function NotFound() {
  const { t } = useTranslation();
  return (
    <Empty>
      {t('common.notFound')} <Link to="/" className="text-teal-800 underline">{t('nav.dashboard')}</Link>
    </Empty>
  );
}

function Page({ path }: { path: string }) {
  if (path === '/' || path === '') return <DashboardPage />;
  if (path === '/keys') return <KeysPage />;
  const key = /^\/keys\/([^/]+)$/.exec(path);
  if (key?.[1]) return <KeyDetailPage key={key[1]} id={decodeURIComponent(key[1])} />;
  if (path === '/usage') return <UsagePage />;
  if (path === '/prices') return <PricesPage />;
  if (path === '/routes') return <RoutesPage />;
  if (path === '/audit') return <AuditPage />;
  if (path === CALLBACK_PATH) return <Spinner />;
  return <NotFound />;
}

export function App() {
  const { state } = useAuth();
  const route = useRoute();
  if (state.status !== 'signed-in') return <LoginPage />;
  return (
    <Layout>
      <Page path={route.path} />
    </Layout>
  );
}
